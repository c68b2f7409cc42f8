// Package sqlstore is Gatehouse's store: one implementation of the domain services over SQLite
// (embedded default) and PostgreSQL (for several replicas). Every service method checks the
// caller's rights, and every change commits together with its audit event.
package sqlstore

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	"github.com/gatehousehq/gatehouse/attest"
	"github.com/gatehousehq/gatehouse/keyring"
)

// Options configure a DB.
type Options struct {
	// DSN is "postgres://…" (or "postgresql://…") for PostgreSQL; anything else is a SQLite file
	// path, optionally prefixed "sqlite:". The SQLite file's directory is created if missing.
	DSN string
	// Secrets seals credentials and secret values at rest.
	Secrets *keyring.Keyring
	// AuditKey keys the audit hash chain; it must not be stored in the database.
	AuditKey []byte
	// AttestationKeys are the Ed25519 seeds that sign deployment attestations, the current
	// first (see attest.PrivateKeys); none means the store signs none.
	AttestationKeys [][]byte
	// Now is the clock; nil means time.Now. Tests set it to control time.
	Now func() time.Time
	// Logger receives the store's own log lines; nil discards them.
	Logger *slog.Logger
}

// DB is an open store. It is safe for concurrent use.
type DB struct {
	w, r     *pool // w takes writes; r takes reads (the same pool on PostgreSQL)
	dialect  dialect
	secrets  *keyring.Keyring
	auditKey []byte
	now      func() time.Time
	log      *slog.Logger
	queue    Queue
	validate ValuesValidator
	pin      ChartPinner
	identify ClusterIdentifier
	observer Observer
	seq      *sequencer
	// attestKeys sign deployment attestations, the current first; nil: none.
	attestKeys []ed25519.PrivateKey
}

// Open connects to the database, applies pending migrations and returns the store.
func Open(ctx context.Context, o Options) (*DB, error) {
	if o.Secrets == nil || len(o.AuditKey) < 32 {
		return nil, errors.New("sqlstore: a secrets keyring and a 32-byte audit key are required")
	}
	db := &DB{secrets: o.Secrets, auditKey: o.AuditKey, now: o.Now, log: o.Logger}
	if len(o.AttestationKeys) > 0 {
		keys, err := attest.PrivateKeys(o.AttestationKeys)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: %w", err)
		}
		db.attestKeys = keys
	}
	db.seq = newSequencer(db)
	if db.now == nil {
		db.now = time.Now
	}
	if db.log == nil {
		db.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if strings.HasPrefix(o.DSN, "postgres://") || strings.HasPrefix(o.DSN, "postgresql://") {
		err = db.openPostgres(o.DSN)
	} else {
		err = db.openSQLite(strings.TrimPrefix(o.DSN, "sqlite:"))
	}
	if err != nil {
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.sealHead(ctx); err != nil {
		db.Close()
		return nil, err
	}
	db.seq.start()
	return db, nil
}

func (db *DB) openPostgres(dsn string) error {
	pool, err := sql.Open("pgx", dsn)
	if err != nil {
		return fmt.Errorf("open postgres: %w", err)
	}
	pool.SetMaxOpenConns(20)
	pool.SetMaxIdleConns(20)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	p := newPool(pool, false)
	db.w, db.r, db.dialect = p, p, postgres
	return nil
}

// openSQLite opens two pools on one file: a single writer connection (SQLite allows one writer
// at a time; queuing in Go is cheaper than busy-waiting in SQLite) and several query-only
// readers, which WAL mode lets run beside the writer.
func (db *DB) openSQLite(path string) error {
	if path == "" {
		return errors.New("sqlstore: empty database path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create database directory: %w", err)
	}
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	base := "file:" + path + "?" + q.Encode()
	w, err := sql.Open("sqlite", base+"&_txlock=immediate")
	if err != nil {
		return fmt.Errorf("open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	r, err := sql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return fmt.Errorf("open sqlite: %w", err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8) // prepared statements live per connection: keep them
	db.w, db.r, db.dialect = newPool(w, true), newPool(r, true), sqlite
	// Touch the file now so WAL mode is set before readers open it.
	return db.w.Ping()
}

// Close stops the audit sequencer, then closes the pools. Events this server queued and did
// not chain yet stay queued; another server's sequencer, or this one's at the next start,
// chains them.
func (db *DB) Close() error {
	db.seq.close()
	err := db.w.Close()
	if db.r != db.w {
		err = errors.Join(err, db.r.Close())
	}
	return err
}

// Engine names the database engine: "sqlite" or "postgres".
func (db *DB) Engine() string { return db.dialect.name }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.w.PingContext(ctx) }

// Raw returns the write pool, for tests that must reach past the store (to tamper with the
// audit trail as an attacker with database access would) and for operators' tools.
func (db *DB) Raw() *sql.DB { return db.w.DB }
