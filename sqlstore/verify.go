package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehousehq/gatehouse"
)

const verifyPage = 1000

// chainHead is the audit_head row: the last event's sequence number and hash, and their seal.
type chainHead struct {
	seq       int64
	hash, mac string
}

// sealed reports whether the head's seal matches it under key.
func (h chainHead) sealed(key []byte) bool { return gatehouse.HeadSealed(key, h.seq, h.hash, h.mac) }

const selectHead = `SELECT seq, hash, mac FROM audit_head WHERE id = 1`

func readHead(ctx context.Context, q querier, suffix string) (chainHead, error) {
	var h chainHead
	if err := q.QueryRowContext(ctx, selectHead+suffix).Scan(&h.seq, &h.hash, &h.mac); err != nil {
		return h, fmt.Errorf("audit head: %w", err)
	}
	return h, nil
}

// lockHead reads the chain head and locks it until the transaction ends.
func (tx *Tx) lockHead() (chainHead, error) { return readHead(tx.ctx, tx, tx.db.dialect.forUpdate) }

// verifyChain walks every event in sequence order and reports the first broken link. Because
// each hash covers the sequence number and the previous hash under a key the database does not
// hold, editing, inserting or deleting rows (or renumbering them) breaks a link that cannot be
// mended without the key; and because the head is sealed under the same key, neither can the
// events after any event be deleted with the head pointed at it. Then it counts the events
// waiting to be chained, as of now, and judges only their seals.
func verifyChain(ctx context.Context, q querier, key []byte, now time.Time) (*gatehouse.AuditReport, error) {
	rep, head, err := walkChain(ctx, q, key)
	if err == nil {
		err = reportQueued(ctx, q, key, now, rep)
	}
	if err != nil || !rep.OK {
		return rep, err
	}
	if !head.sealed(key) {
		rep.OK = false
		seal := "its seal does not match event %d: events after it were deleted, or the head was rewritten without the audit key"
		if head.mac == "" {
			seal = "it has no seal (event %d): it was reset behind the server's back, or the store could not seal it on upgrade"
		}
		rep.Broken = &gatehouse.AuditBreak{Seq: head.seq, Reason: "the chain head was replaced: " + fmt.Sprintf(seal, head.seq)}
	}
	return rep, nil
}

// walkChain is verifyChain but for the head's seal: the events link up to the head.
func walkChain(ctx context.Context, q querier, key []byte) (*gatehouse.AuditReport, chainHead, error) {
	head, err := readHead(ctx, q, "")
	if err != nil {
		return nil, head, err
	}
	rep := &gatehouse.AuditReport{HeadSeq: head.seq, HeadHash: head.hash}
	broken := func(seq int64, format string, args ...any) (*gatehouse.AuditReport, chainHead, error) {
		rep.Broken = &gatehouse.AuditBreak{Seq: seq, Reason: fmt.Sprintf(format, args...)}
		return rep, head, nil
	}
	prevHash, next := "", int64(1)
	for {
		page, err := queryAll(ctx, q, scanAuditEvent, `SELECT `+auditColumns+` FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2`, next, verifyPage)
		if err != nil {
			return nil, head, fmt.Errorf("audit events: %w", err)
		}
		for _, e := range page {
			switch {
			case e.Seq > rep.HeadSeq:
				return broken(e.Seq, "event %d lies beyond the chain head (event %d): it was inserted", e.Seq, rep.HeadSeq)
			case e.Seq != next:
				return broken(next, "event %d is missing (the next stored event is %d): events were deleted", next, e.Seq)
			case e.PrevHash != prevHash:
				return broken(e.Seq, "event %d does not link to event %d: an event before it was deleted, inserted or replaced", e.Seq, e.Seq-1)
			case gatehouse.ChainHash(key, e) != e.Hash:
				return broken(e.Seq, "event %d does not match its hash: it was edited, or inserted without the audit key", e.Seq)
			}
			rep.Events++
			prevHash, next = e.Hash, e.Seq+1
		}
		if len(page) < verifyPage {
			break
		}
	}
	last := next - 1
	switch {
	case last < rep.HeadSeq:
		return broken(next, "the chain head names event %d but the trail ends at event %d: events were deleted", rep.HeadSeq, last)
	case prevHash != rep.HeadHash:
		return broken(last, "the chain head's hash does not match event %d: the head or the event was replaced", last)
	}
	rep.OK = true
	return rep, head, nil
}

// reportQueued adds the events waiting to be chained to the report: how many, how old the
// oldest is, and, on a chain that verifies, the first whose seal does not match (it was queued,
// or edited while queued, without the audit key; the sequencer leaves it out of the chain).
func reportQueued(ctx context.Context, q querier, key []byte, now time.Time, rep *gatehouse.AuditReport) error {
	oldest := now
	for after := int64(0); ; {
		page, err := queryAll(ctx, q, scanQueued, selectQueued, after, verifyPage)
		if err != nil {
			return fmt.Errorf("audit queue: %w", err)
		}
		for _, e := range page {
			if rep.OK && !e.sealed(key) {
				rep.OK = false
				rep.Broken = &gatehouse.AuditBreak{Reason: fmt.Sprintf("an event waiting to be chained (id %d, %s %s) does not match its seal: it was queued or edited without the audit key", e.id, e.e.Action, e.e.Resource)}
			}
			if e.e.Time.Before(oldest) {
				oldest = e.e.Time
			}
			rep.Pending++
			after = e.id
		}
		if len(page) < verifyPage {
			break
		}
	}
	rep.PendingAgeSeconds = now.Sub(oldest).Seconds()
	return nil
}

// verifyCheckpoint is verifyChain that also proves the chain holds the checkpoint, which must
// already be checked. The checkpoint is judged first: it is evidence from outside the database,
// and when its event is gone or changed that says the most about what happened.
func verifyCheckpoint(ctx context.Context, q querier, key []byte, now time.Time, cp gatehouse.AuditCheckpoint) (*gatehouse.AuditReport, error) {
	rep, err := verifyChain(ctx, q, key, now)
	if err != nil {
		return nil, err
	}
	var hash string
	err = q.QueryRowContext(ctx, `SELECT hash FROM audit_events WHERE seq = $1`, cp.Seq).Scan(&hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("checkpoint event: %w", err)
	}
	of := fmt.Sprintf("the checkpoint of %s (event %d)", cp.Time.Format(time.RFC3339), cp.Seq)
	var reason string
	switch {
	case err != nil && rep.HeadSeq < cp.Seq:
		reason = fmt.Sprintf("the trail ends at event %d, before %s: events were deleted", rep.HeadSeq, of)
	case err != nil:
		reason = fmt.Sprintf("event %d is missing, though %s holds it: events were deleted", cp.Seq, of)
	case hash != cp.Hash:
		reason = fmt.Sprintf("event %d does not match %s: the history up to it was rewritten", cp.Seq, of)
	default:
		if rep.OK {
			rep.Checkpoint = &cp
		}
		return rep, nil
	}
	rep.OK = false
	rep.Broken = &gatehouse.AuditBreak{Seq: cp.Seq, Reason: reason}
	return rep, nil
}
