package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// querier is what both a pool and a transaction offer; read helpers take one so they work
// inside and outside write transactions.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Tx is a write transaction. now is fixed when it starts, so every row and audit event it writes
// carries the same time.
type Tx struct {
	*sql.Tx
	ctx        context.Context
	db         *DB
	now        time.Time
	unprepared []string // queries to prepare once the transaction ends
	committed  []func() // run in order once the transaction committed, never when it did not
	audited    bool     // it queued an audit event: the sequencer is woken once it commits
}

// afterCommit runs f once the transaction committed (not on rollback, nor on an attempt that
// is run again): observers hear only of what the database holds.
func (tx *Tx) afterCommit(f func()) { tx.committed = append(tx.committed, f) }

// write runs fn in a write transaction and commits when fn returns nil. A transaction the
// engine aborted for serialization, or whose connection broke before it committed (the server
// killed it, the network cut it: PostgreSQL rolled it back), runs again on another connection,
// at most three times in all. A connection still broken after that is answered unavailable
// ("try again"); one that broke while committing leaves the outcome unknown, and the answer
// says so rather than guessing.
func (db *DB) write(ctx context.Context, fn func(tx *Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := db.writeOnce(ctx, fn)
		if err == nil {
			return nil
		}
		var commit *commitError
		lost := connectionLost(err) && ctx.Err() == nil
		switch {
		case lost && errors.As(err, &commit):
			return gatehouse.Errorf(gatehouse.KindUnavailable, "the connection to the database broke while the change was being committed: it may or may not have been made; look before trying again")
		case (lost || isRetryable(err)) && attempt < 3:
			continue
		case lost:
			return gatehouse.Errorf(gatehouse.KindUnavailable, "the connection to the database broke: nothing was changed; try again")
		default:
			return err
		}
	}
}

// commitError is a failed commit, whose outcome a broken connection leaves unknown.
type commitError struct{ err error }

func (e *commitError) Error() string { return "commit: " + e.err.Error() }
func (e *commitError) Unwrap() error { return e.err }

func (db *DB) writeOnce(ctx context.Context, fn func(tx *Tx) error) error {
	stx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	tx := &Tx{Tx: stx, ctx: ctx, db: db, now: gatehouse.AuditTime(db.now())}
	defer func() {
		for _, q := range tx.unprepared {
			db.w.stmt(ctx, q)
		}
	}()
	if err := fn(tx); err != nil {
		_ = stx.Rollback()
		return err
	}
	if err := stx.Commit(); err != nil {
		return &commitError{err}
	}
	for _, f := range tx.committed {
		f()
	}
	return nil
}

// micro converts a time to the stored form: microseconds since the epoch.
func micro(t time.Time) int64 { return t.UnixMicro() }

// fromMicro converts the stored form back to a UTC time.
func fromMicro(us int64) time.Time { return time.UnixMicro(us).UTC() }

// nullMicro converts an optional time to the stored form.
func nullMicro(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micro(*t), Valid: true}
}

// fromNullMicro converts an optional stored time back.
func fromNullMicro(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromMicro(n.Int64)
	return &t
}

// notFoundOr maps sql.ErrNoRows to a not-found error with the message, and passes others on.
func notFoundOr(err error, format string, args ...any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return gatehouse.NotFoundf(format, args...)
	}
	return err
}

// actor returns the context's actor, or an unauthenticated error. Every service method that
// acts for someone starts with it.
func actor(ctx context.Context) (*gatehouse.Actor, error) {
	a := gatehouse.ActorFrom(ctx)
	if a == nil {
		return nil, gatehouse.Errorf(gatehouse.KindUnauthenticated, "authentication required")
	}
	return a, nil
}

// scanner is a row that can be scanned: *sql.Row or *sql.Rows.
type scanner interface{ Scan(...any) error }

// queryAll runs a query and scans every row with scan.
func queryAll[T any](ctx context.Context, q querier, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// keep returns the elements of s for which ok is true, in order, in a new slice: s itself is
// often read again (one read of every policy serves many judgements).
func keep[T any](s []T, ok func(T) bool) []T {
	out := make([]T, 0, len(s))
	for _, v := range s {
		if ok(v) {
			out = append(out, v)
		}
	}
	return out
}

func scanString(row scanner) (string, error) {
	var s string
	err := row.Scan(&s)
	return s, err
}

func scanInt64(row scanner) (int64, error) {
	var n int64
	err := row.Scan(&n)
	return n, err
}
