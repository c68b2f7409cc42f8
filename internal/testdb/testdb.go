// Package testdb opens real stores for tests: a SQLite file in a temporary directory, or a fresh
// schema in the PostgreSQL server named by GATEHOUSE_TEST_POSTGRES (default: the local server's
// "test" database). PostgreSQL is never skipped: when it does not answer, the test fails and says
// how to start it.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver

	"github.com/gatehousehq/gatehouse/keyring"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// Engines are the database engines every store test runs on.
var Engines = []string{"sqlite", "postgres"}

// PostgresURL is the server tests use.
func PostgresURL() string {
	if u := os.Getenv("GATEHOUSE_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// DSN returns a data source for a new, empty database of the engine, dropped when the test
// ends: a file for SQLite, a fresh schema for PostgreSQL.
func DSN(tb testing.TB, engine string) string {
	tb.Helper()
	switch engine {
	case "sqlite":
		return filepath.Join(tb.TempDir(), "gatehouse.db")
	case "postgres":
		return postgresSchema(tb)
	}
	tb.Fatalf("unknown engine %q", engine)
	return ""
}

func postgresSchema(tb testing.TB) string {
	base := PostgresURL()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatalf("postgres: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		tb.Fatalf("PostgreSQL at %s does not answer (%v): run ./scripts/test-deps.sh to install and start it, or set GATEHOUSE_TEST_POSTGRES", base, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		admin.Close()
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			tb.Logf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("GATEHOUSE_TEST_POSTGRES: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Keys are fresh secrets for a store: a keyring, an audit key and an attestation key.
type Keys struct {
	Secrets        *keyring.Keyring
	AuditKey       []byte
	AttestationKey []byte
}

// NewKeys returns fresh random keys.
func NewKeys(tb testing.TB) Keys {
	k, err := keyring.New(keyring.NewKey())
	if err != nil {
		tb.Fatal(err)
	}
	return Keys{Secrets: k, AuditKey: keyring.NewKey(), AttestationKey: keyring.NewKey()}
}

// Open opens a store on a new, empty database of the engine, closed when the test ends. Options
// may adjust the defaults (DSN and keys are filled in).
func Open(tb testing.TB, engine string, adjust ...func(*sqlstore.Options)) *sqlstore.DB {
	tb.Helper()
	keys := NewKeys(tb)
	o := sqlstore.Options{DSN: DSN(tb, engine), Secrets: keys.Secrets, AuditKey: keys.AuditKey, AttestationKeys: [][]byte{keys.AttestationKey}}
	for _, f := range adjust {
		f(&o)
	}
	db, err := sqlstore.Open(context.Background(), o)
	if err != nil {
		tb.Fatalf("open %s store: %v", engine, err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// ForEach runs the test once per engine, as subtests named after the engines.
// GATEHOUSE_TEST_ENGINES (a comma-separated list) narrows them for runs that repeat a test
// many times, such as mutation testing; the suite always runs every engine.
func ForEach(t *testing.T, f func(t *testing.T, engine string)) {
	engines := Engines
	if only := os.Getenv("GATEHOUSE_TEST_ENGINES"); only != "" {
		engines = strings.Split(only, ",")
	}
	for _, e := range engines {
		t.Run(e, func(t *testing.T) { f(t, e) })
	}
}
