package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// The sequencer chains queued audit events, as a transparency log sequences its entries:
// requests only insert their events (queueAudit), and one sequencer at a time, across every
// server on the database, takes the chain head, gives the queued events the next sequence
// numbers in id order, links and hashes them and seals the new head, once per batch. An event
// whose id is smaller but whose transaction committed later simply gets a later number: the
// chain's order is seq, and it stays gapless.
const (
	// chainBatch is how many events one head update chains at most.
	chainBatch = 500
	// sweepEvery is how often a server chains without being woken, so that the events a server
	// committed just before it died are chained by the others.
	sweepEvery = time.Second
	// catchUpWait bounds how long a reader waits for the chain to take in what is pending
	// before it reads what is chained (and verify reports the rest as pending).
	catchUpWait = 2 * time.Second
)

// sequencer is a DB's chaining goroutine and what it shares with readers that chain.
type sequencer struct {
	db    *DB
	woken chan struct{} // one buffered wake-up: commits while a run goes on coalesce into one
	turn  chan struct{} // held by the run in progress: one at a time in this process
	stop  context.CancelFunc
	done  chan struct{}
	// inRequest makes each audited transaction chain its own events before it commits, under
	// the head lock, as the store did before the sequencer; only the benchmark sets it, to
	// measure what the sequencer changed.
	inRequest bool
}

func newSequencer(db *DB) *sequencer {
	return &sequencer{db: db, woken: make(chan struct{}, 1), turn: make(chan struct{}, 1)}
}

// start runs the sequencer until close.
func (s *sequencer) start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.stop, s.done = cancel, make(chan struct{})
	go func() {
		defer close(s.done)
		tick := time.NewTicker(sweepEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.woken:
			case <-tick.C:
			}
			if err := s.run(ctx); err != nil && ctx.Err() == nil {
				s.db.log.Error("chaining audit events failed; the next commit or sweep tries again", "err", err)
			}
		}
	}()
}

// close stops the goroutine and waits for it; a run in progress is cancelled (its batch rolls
// back, and the events stay queued for the next sequencer).
func (s *sequencer) close() {
	if s.stop != nil {
		s.stop()
		<-s.done
		s.stop = nil
	}
}

// wake asks the goroutine to chain soon, without waiting.
func (s *sequencer) wake() {
	select {
	case s.woken <- struct{}{}:
	default:
	}
}

// run chains every event queued before it took its turn, batch by batch, each batch in its
// own transaction. Events it must not chain (their seal does not match) stay queued.
func (s *sequencer) run(ctx context.Context) error {
	select {
	case s.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.turn }()
	var id int64
	err := s.db.r.QueryRowContext(ctx, `SELECT id FROM audit_events WHERE seq IS NULL LIMIT 1`).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // the common case for readers: nothing to do, no lock taken
	}
	if err != nil {
		return fmt.Errorf("audit queue: %w", err)
	}
	for after := int64(0); ; {
		var last int64
		var read int
		err := s.db.write(ctx, func(tx *Tx) (err error) {
			last, read, err = tx.chainPending(after)
			return err
		})
		if err != nil {
			return err
		}
		if read < chainBatch {
			return nil
		}
		after = last
	}
}

// ChainPending chains every audit event committed before it was called, by this server or
// another, and returns once they are in the chain. An event whose seal does not match stays
// pending (VerifyAudit reports it). Errors: the context's, or the database's.
func (db *DB) ChainPending(ctx context.Context) error { return db.seq.run(ctx) }

// catchUp is ChainPending for readers, who then read what is chained: it waits catchUpWait at
// most (a sequencer holding the head that long is a fault VerifyAudit reports as pending
// events), and logs rather than returns its errors.
func (db *DB) catchUp(ctx context.Context) {
	wait, cancel := context.WithTimeout(ctx, catchUpWait)
	defer cancel()
	if err := db.ChainPending(wait); err != nil && ctx.Err() == nil {
		db.log.Warn("audit events are still waiting to be chained; reading the chain as it is", "err", err)
	}
}

// queuedEvent is an event waiting to be chained.
type queuedEvent struct {
	id   int64
	seal sql.NullString
	e    *gatehouse.AuditEvent
}

const selectQueued = `SELECT id, seal, ` + eventFields + ` FROM audit_events WHERE seq IS NULL AND id > $1 ORDER BY id LIMIT $2`

func scanQueued(row scanner) (queuedEvent, error) {
	var r eventRow
	var q queuedEvent
	if err := row.Scan(append([]any{&q.id, &q.seal}, r.fields()...)...); err != nil {
		return q, err
	}
	q.e = r.event()
	return q, nil
}

// sealed reports whether the event was queued by a store holding key, unchanged since.
func (q queuedEvent) sealed(key []byte) bool {
	return q.seal.Valid && gatehouse.PendingSealed(key, q.e, q.seal.String)
}

// chainPending locks the chain head until the transaction ends and chains up to chainBatch
// queued events with ids above after. It returns the last id it read and how many it read.
// Only a sealed head is sealed again: one whose seal does not match (the tail was cut behind
// the store's back) keeps its old seal, which cannot match the new head either, so events
// chained after the cut never hide it.
func (tx *Tx) chainPending(after int64) (last int64, read int, err error) {
	key := tx.db.auditKey
	head, err := tx.lockHead()
	if err != nil {
		return 0, 0, err
	}
	queued, err := queryAll(tx.ctx, tx, scanQueued, selectQueued, after, chainBatch)
	if err != nil {
		return 0, 0, fmt.Errorf("audit queue: %w", err)
	}
	sealed := head.sealed(key)
	chained := make([]any, 0, 4*len(queued))
	for _, q := range queued {
		last = q.id
		if !q.sealed(key) {
			tx.db.log.Error("an audit event waiting to be chained does not match its seal: it stays out of the chain; run gatehouse audit verify", "id", q.id)
			continue
		}
		q.e.Seq, q.e.PrevHash = head.seq+1, head.hash
		q.e.Hash = gatehouse.ChainHash(key, q.e)
		chained = append(chained, q.id, q.e.Seq, q.e.PrevHash, q.e.Hash)
		head.seq, head.hash = q.e.Seq, q.e.Hash
	}
	if len(chained) == 0 {
		return last, len(queued), nil
	}
	if err := tx.setChained(chained); err != nil {
		return 0, 0, err
	}
	mac := head.mac
	if sealed {
		mac = gatehouse.HeadSeal(key, head.seq, head.hash)
	} else {
		tx.db.log.Error("the audit chain head's seal does not match: the trail stays marked broken; run gatehouse audit verify", "seq", head.seq)
	}
	if _, err := tx.ExecContext(tx.ctx, `UPDATE audit_head SET seq = $1, hash = $2, mac = $3 WHERE id = 1`, head.seq, head.hash, mac); err != nil {
		return 0, 0, fmt.Errorf("audit head update: %w", err)
	}
	return last, len(queued), nil
}

// setChained writes (id, seq, prev_hash, hash) quadruples into their events and clears their
// seals, many rows per statement. Statements come in three sizes only, so the prepared
// statement caches (ours for SQLite, pgx's per connection) hold few of them.
func (tx *Tx) setChained(quads []any) error {
	for _, size := range chainedSizes {
		for len(quads) >= 4*size {
			if _, err := tx.ExecContext(tx.ctx, chainedUpdates[size], quads[:4*size]...); err != nil {
				return fmt.Errorf("chain audit events: %w", err)
			}
			quads = quads[4*size:]
		}
	}
	return nil
}

var (
	chainedSizes   = []int{64, 8, 1}
	chainedUpdates = map[int]string{64: chainedUpdate(64), 8: chainedUpdate(8), 1: chainedUpdate(1)}
)

// chainedUpdate is the statement that sets n events' chain columns.
func chainedUpdate(n int) string {
	rows := make([]string, n)
	for i := range rows {
		rows[i] = fmt.Sprintf("(CAST($%d AS BIGINT), CAST($%d AS BIGINT), CAST($%d AS TEXT), CAST($%d AS TEXT))", 4*i+1, 4*i+2, 4*i+3, 4*i+4)
	}
	return `UPDATE audit_events SET seq = v.column2, prev_hash = v.column3, hash = v.column4, seal = NULL
		FROM (VALUES ` + strings.Join(rows, ", ") + `) AS v WHERE audit_events.id = v.column1`
}
