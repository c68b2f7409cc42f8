package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

// change describes one state change for the audit trail.
type change struct {
	action   string // e.g. "project.create"
	resource string // e.g. "project/shop"
	target   gatehouse.Target
	before   any // snapshot before (nil on create); secrets must already be masked
	after    any // snapshot after (nil on delete)
	details  any // what else the action carries (comment, digest)
}

// audit appends the change to the hash chain inside the transaction, so the event commits if
// and only if the change does. It locks the chain head, which orders events by commit.
func (tx *Tx) audit(c change) error {
	_, _, err := tx.appendAudit(c)
	return err
}

// appendAudit is audit that returns the event and whether the head it extended was sealed.
// Only a sealed head is sealed again: one whose seal does not match (the tail was cut behind
// the store's back) keeps its old seal, which cannot match the new head either, so a change
// made after the cut never hides it.
func (tx *Tx) appendAudit(c change) (*gatehouse.AuditEvent, bool, error) {
	a := gatehouse.ActorFrom(tx.ctx)
	if a == nil {
		a = gatehouse.SystemActor()
	}
	ri := gatehouse.RequestInfoFrom(tx.ctx)
	e := &gatehouse.AuditEvent{
		Time: tx.now, Actor: a.UserName, ActorKind: a.Kind, Via: a.Via, Action: c.action,
		Resource: c.resource, Project: c.target.Project, App: c.target.App, Env: c.target.Env,
		RequestID: ri.RequestID, SourceIP: ri.SourceIP,
	}
	var err error
	if e.Before, err = gatehouse.CanonicalJSON(c.before); err != nil {
		return nil, false, fmt.Errorf("audit before: %w", err)
	}
	if e.After, err = gatehouse.CanonicalJSON(c.after); err != nil {
		return nil, false, fmt.Errorf("audit after: %w", err)
	}
	if e.Details, err = gatehouse.CanonicalJSON(c.details); err != nil {
		return nil, false, fmt.Errorf("audit details: %w", err)
	}
	head, err := tx.lockHead()
	if err != nil {
		return nil, false, err
	}
	e.Seq, e.PrevHash = head.seq+1, head.hash
	e.Hash = gatehouse.ChainHash(tx.db.auditKey, e)
	_, err = tx.ExecContext(tx.ctx, `INSERT INTO audit_events (seq, at, actor, actor_kind, via, action, resource,
		project, app, environment, before_json, after_json, details, request_id, source_ip, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		e.Seq, micro(e.Time), e.Actor, e.ActorKind, e.Via, e.Action, e.Resource, e.Project, e.App, e.Env,
		rawOrNull(e.Before), rawOrNull(e.After), rawOrNull(e.Details), e.RequestID, e.SourceIP, e.PrevHash, e.Hash)
	if err != nil {
		return nil, false, fmt.Errorf("audit insert: %w", err)
	}
	sealed := head.sealed(tx.db.auditKey)
	mac := head.mac
	if sealed {
		mac = gatehouse.HeadSeal(tx.db.auditKey, e.Seq, e.Hash)
	} else {
		tx.db.log.Error("the audit chain head's seal does not match: the trail stays marked broken; run gatehouse audit verify", "seq", e.Seq)
	}
	if _, err := tx.ExecContext(tx.ctx, `UPDATE audit_head SET seq = $1, hash = $2, mac = $3 WHERE id = 1`, e.Seq, e.Hash, mac); err != nil {
		return nil, false, fmt.Errorf("audit head update: %w", err)
	}
	return e, sealed, nil
}

func rawOrNull(m json.RawMessage) sql.NullString {
	if len(m) == 0 {
		return sql.NullString{}
	}
	return sql.NullString{String: string(m), Valid: true}
}

const auditColumns = `seq, at, actor, actor_kind, via, action, resource, project, app, environment,
	before_json, after_json, details, request_id, source_ip, prev_hash, hash`

func scanAuditEvent(row scanner) (*gatehouse.AuditEvent, error) {
	var e gatehouse.AuditEvent
	var at int64
	var before, after, details sql.NullString
	if err := row.Scan(&e.Seq, &at, &e.Actor, &e.ActorKind, &e.Via, &e.Action, &e.Resource, &e.Project,
		&e.App, &e.Env, &before, &after, &details, &e.RequestID, &e.SourceIP, &e.PrevHash, &e.Hash); err != nil {
		return nil, err
	}
	e.Time = fromMicro(at)
	for _, p := range []struct {
		dst *json.RawMessage
		src sql.NullString
	}{{&e.Before, before}, {&e.After, after}, {&e.Details, details}} {
		if p.src.Valid {
			*p.dst = json.RawMessage(p.src.String)
		}
	}
	return &e, nil
}

// AuditService reads and verifies the trail; see gatehouse.AuditService.
type AuditService struct{ db *DB }

// NewAuditService returns the audit service of db.
func NewAuditService(db *DB) *AuditService { return &AuditService{db: db} }

// AuditEvents implements gatehouse.AuditService.
func (s *AuditService) AuditEvents(ctx context.Context, f gatehouse.AuditFilter) ([]*gatehouse.AuditEvent, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	target := gatehouse.Target{Project: f.Project, App: f.App, Env: f.Env}
	if f.Project == "" {
		target = gatehouse.Target{}
	}
	if err := a.Require(gatehouse.ActionViewAudit, target); err != nil {
		return nil, err
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	if f.Limit > 10000 {
		return nil, gatehouse.Invalidf("limit", "%d is too large: expected at most 10000", f.Limit)
	}
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	add("seq > $%d", f.AfterSeq)
	if !f.Since.IsZero() {
		add("at >= $%d", micro(f.Since))
	}
	if !f.Until.IsZero() {
		add("at < $%d", micro(f.Until))
	}
	for _, c := range []struct{ col, v string }{{"actor", f.Actor}, {"project", f.Project}, {"app", f.App}, {"environment", f.Env}} {
		if c.v != "" {
			add(c.col+" = $%d", c.v)
		}
	}
	if prefix, ok := strings.CutSuffix(f.Action, "."); ok && prefix != "" {
		add("action LIKE $%d", prefix+".%")
	} else if f.Action != "" {
		add("action = $%d", f.Action)
	}
	args = append(args, f.Limit)
	q := fmt.Sprintf("SELECT %s FROM audit_events WHERE %s ORDER BY seq LIMIT $%d", auditColumns, strings.Join(where, " AND "), len(args))
	out, err := queryAll(ctx, s.db.r, scanAuditEvent, q, args...)
	if err != nil {
		return nil, fmt.Errorf("audit events: %w", err)
	}
	return out, nil
}

// VerifyAudit implements gatehouse.AuditService.
func (s *AuditService) VerifyAudit(ctx context.Context) (*gatehouse.AuditReport, error) {
	var rep *gatehouse.AuditReport
	err := s.readChain(ctx, func(tx *sql.Tx) (err error) {
		rep, err = verifyChain(ctx, tx, s.db.auditKey)
		return err
	})
	return rep, err
}

// readChain checks that the caller may administer the system, then runs fn in one read
// transaction, so a walk of the chain in pages sees one consistent snapshot while writers go on.
func (s *AuditService) readChain(ctx context.Context, fn func(tx *sql.Tx) error) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	if err := a.Require(gatehouse.ActionAdminister, gatehouse.Target{}); err != nil {
		return err
	}
	tx, err := s.db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: s.db.dialect.snapshotIsolation()})
	if err != nil {
		return fmt.Errorf("verify audit: %w", err)
	}
	defer tx.Rollback()
	return fn(tx)
}
