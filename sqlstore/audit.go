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

// audit queues the change's event inside the transaction, so it commits if and only if the
// change does. It takes no lock and touches no shared row: once the transaction commits, the
// sequencer gives the event its place in the chain (sequencer.go).
func (tx *Tx) audit(c change) error {
	_, err := tx.queueAudit(c)
	return err
}

// queueAudit is audit that returns the event's id, which orders it in the sequencer's queue.
func (tx *Tx) queueAudit(c change) (int64, error) {
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
		return 0, fmt.Errorf("audit before: %w", err)
	}
	if e.After, err = gatehouse.CanonicalJSON(c.after); err != nil {
		return 0, fmt.Errorf("audit after: %w", err)
	}
	if e.Details, err = gatehouse.CanonicalJSON(c.details); err != nil {
		return 0, fmt.Errorf("audit details: %w", err)
	}
	var id int64
	err = tx.QueryRowContext(tx.ctx, `INSERT INTO audit_events (`+eventFields+`, seal)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id`,
		micro(e.Time), e.Actor, e.ActorKind, e.Via, e.Action, e.Resource, e.Project, e.App, e.Env,
		rawOrNull(e.Before), rawOrNull(e.After), rawOrNull(e.Details), e.RequestID, e.SourceIP,
		gatehouse.PendingSeal(tx.db.auditKey, e)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("audit insert: %w", err)
	}
	if !tx.audited {
		tx.audited = true
		tx.afterCommit(tx.db.seq.wake)
	}
	if tx.db.seq.inRequest {
		if _, _, err := tx.chainPending(0); err != nil {
			return 0, err
		}
	}
	return id, nil
}

func rawOrNull(m json.RawMessage) sql.NullString {
	if len(m) == 0 {
		return sql.NullString{}
	}
	return sql.NullString{String: string(m), Valid: true}
}

// eventFields are the columns of an event that its writer sets; the sequencer sets seq,
// prev_hash and hash.
const eventFields = `at, actor, actor_kind, via, action, resource, project, app, environment,
	before_json, after_json, details, request_id, source_ip`

const auditColumns = `seq, ` + eventFields + `, prev_hash, hash`

// eventRow receives eventFields from a row.
type eventRow struct {
	e                      gatehouse.AuditEvent
	at                     int64
	before, after, details sql.NullString
}

func (r *eventRow) fields() []any {
	e := &r.e
	return []any{&r.at, &e.Actor, &e.ActorKind, &e.Via, &e.Action, &e.Resource, &e.Project, &e.App, &e.Env,
		&r.before, &r.after, &r.details, &e.RequestID, &e.SourceIP}
}

// event is the scanned event.
func (r *eventRow) event() *gatehouse.AuditEvent {
	r.e.Time = fromMicro(r.at)
	for _, p := range []struct {
		dst *json.RawMessage
		src sql.NullString
	}{{&r.e.Before, r.before}, {&r.e.After, r.after}, {&r.e.Details, r.details}} {
		if p.src.Valid {
			*p.dst = json.RawMessage(p.src.String)
		}
	}
	return &r.e
}

// scanAuditEvent scans auditColumns of a chained event.
func scanAuditEvent(row scanner) (*gatehouse.AuditEvent, error) {
	var r eventRow
	dest := append([]any{&r.e.Seq}, r.fields()...)
	if err := row.Scan(append(dest, &r.e.PrevHash, &r.e.Hash)...); err != nil {
		return nil, err
	}
	return r.event(), nil
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
	s.db.catchUp(ctx)
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
		rep, err = verifyChain(ctx, tx, s.db.auditKey, s.db.now())
		return err
	})
	return rep, err
}

// readChain checks that the caller may administer the system, chains what is pending, then
// runs fn in one read transaction, so a walk of the chain in pages sees one consistent snapshot
// while writers go on.
func (s *AuditService) readChain(ctx context.Context, fn func(tx *sql.Tx) error) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	if err := a.Require(gatehouse.ActionAdminister, gatehouse.Target{}); err != nil {
		return err
	}
	s.db.catchUp(ctx)
	tx, err := s.db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: s.db.dialect.snapshotIsolation()})
	if err != nil {
		return fmt.Errorf("verify audit: %w", err)
	}
	defer tx.Rollback()
	return fn(tx)
}
