package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/gatehousehq/gatehouse"
)

// sealHead seals the chain head when Open finds it without a seal: a trail this store kept
// before heads were sealed (migration 00007 adds the seal empty, as SQL cannot compute it
// without the audit key), or a new database.
//
// A head without a seal cannot be told from one whose seal an attacker blanked: everything in
// the database is theirs to write. So sealing trusts the trail as it is now, and is made to
// happen once per trail:
//   - only when the whole chain verifies, so a trail already broken is never vouched for;
//   - it appends an audit.seal event, keyed like every event, and a chain that holds one is
//     never sealed again: a seal blanked after the upgrade, with the tail cut or not, is
//     reported by verify, not mended;
//   - it logs at warn level, so a second such line in a server's logs stands out.
//
// What is left: an attacker who deletes the audit.seal event and every event after it (all that
// happened since the upgrade; on a new database, the whole trail), points the head at the
// event before and blanks the seal gets that shorter trail sealed at the next start. Only a
// checkpoint kept outside the database catches that, as it catches an attacker holding the audit
// key. The audit key is never rotated (gatehouse keys rotates the secrets keyring only), so a
// seal, once made, stays checkable.
func (db *DB) sealHead(ctx context.Context) error {
	head, err := readHead(ctx, db.w, "")
	if err != nil || head.mac != "" {
		return err
	}
	var outcome string
	var broken *gatehouse.AuditBreak
	err = db.write(gatehouse.WithActor(ctx, gatehouse.SystemActor()), func(tx *Tx) error {
		outcome = ""
		head, err := tx.lockHead()
		if err != nil || head.mac != "" {
			return err // another server sealed it meanwhile
		}
		var seals int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_events WHERE action = 'audit.seal'`).Scan(&seals); err != nil {
			return fmt.Errorf("audit seals: %w", err)
		}
		if seals > 0 {
			outcome = "lost"
			return nil
		}
		rep, _, err := walkChain(ctx, tx, db.auditKey)
		if err != nil {
			return err
		}
		if !rep.OK {
			outcome, broken = "broken", rep.Broken
			return nil
		}
		seal := gatehouse.HeadSeal(db.auditKey, head.seq, head.hash)
		if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET mac = $1 WHERE id = 1`, seal); err != nil {
			return fmt.Errorf("seal audit head: %w", err)
		}
		outcome = "sealed"
		return tx.audit(change{action: "audit.seal", resource: "audit", details: map[string]any{"seq": head.seq, "hash": head.hash}})
	})
	switch {
	case err != nil:
		return err
	case outcome == "sealed":
		db.log.Warn("sealed the audit chain head: a new trail, or the first start of a version that seals it", "seq", head.seq)
	case outcome == "lost":
		db.log.Error("the audit chain head has lost its seal; it was sealed before, so it stays unsealed and gatehouse audit verify reports it")
	case outcome == "broken":
		db.log.Error("the audit chain does not verify, so its head stays unsealed", "seq", broken.Seq, "reason", broken.Reason)
	}
	return nil
}

// CheckpointAudit implements gatehouse.AuditService.
func (s *AuditService) CheckpointAudit(ctx context.Context) (*gatehouse.AuditCheckpoint, error) {
	rep, err := s.VerifyAudit(ctx)
	if err != nil {
		return nil, err
	}
	if !rep.OK {
		return nil, gatehouse.Errorf(gatehouse.KindPreconditionFailed, "the audit trail is broken at event %d (%s): a checkpoint would vouch for it", rep.Broken.Seq, rep.Broken.Reason)
	}
	var id int64
	err = s.db.write(ctx, func(tx *Tx) (err error) {
		id, err = tx.queueAudit(change{action: "audit.checkpoint", resource: "audit"})
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := s.db.ChainPending(ctx); err != nil {
		return nil, err
	}
	var seq sql.NullInt64
	var hash sql.NullString
	var at int64
	if err := s.db.w.QueryRowContext(ctx, `SELECT seq, hash, at FROM audit_events WHERE id = $1`, id).Scan(&seq, &hash, &at); err != nil {
		return nil, fmt.Errorf("checkpoint event: %w", err)
	}
	head, err := readHead(ctx, s.db.w, "")
	if err != nil {
		return nil, err
	}
	if !seq.Valid || !head.sealed(s.db.auditKey) {
		// The tail was cut since the walk above, so the sequencer left the head unsealed (or,
		// with the checkpoint's own event edited while queued, out of the chain).
		return nil, gatehouse.Errorf(gatehouse.KindPreconditionFailed, "the chain head was replaced: its seal does not match; run gatehouse audit verify")
	}
	cp := gatehouse.NewAuditCheckpoint(s.db.auditKey, seq.Int64, hash.String, fromMicro(at))
	return &cp, nil
}

// VerifyAuditCheckpoint implements gatehouse.AuditService.
func (s *AuditService) VerifyAuditCheckpoint(ctx context.Context, cp gatehouse.AuditCheckpoint) (*gatehouse.AuditReport, error) {
	var rep *gatehouse.AuditReport
	err := s.readChain(ctx, func(tx *sql.Tx) (err error) {
		if err := cp.Check(s.db.auditKey); err != nil {
			return err
		}
		rep, err = verifyCheckpoint(ctx, tx, s.db.auditKey, s.db.now(), cp)
		return err
	})
	return rep, err
}
