package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"testing/fstest"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations returns the numbered migrations with engine-specific spellings filled in, so both
// engines run one source of truth.
func (d dialect) migrations() (fs.FS, error) {
	out := fstest.MapFS{}
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		b, err := fs.ReadFile(migrationFiles, "migrations/"+e.Name())
		if err != nil {
			return nil, err
		}
		text := strings.ReplaceAll(string(b), "@ID@", d.idColumn)
		text = reseq.ReplaceAllStringFunc(text, func(m string) string { return d.reseq(reseq.FindStringSubmatch(m)[1]) })
		out[e.Name()] = &fstest.MapFile{Data: []byte(text)}
	}
	return out, nil
}

// reseq marks where a migration copied rows with their ids into a new table: the engine's id
// sequence must move past them (PostgreSQL; SQLite takes the next id from the rows).
var reseq = regexp.MustCompile(`@RESEQ\(([a-z_]+)\)@`)

func (d dialect) reseq(table string) string {
	if d.name != "postgres" {
		return ""
	}
	return fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%[1]s', 'id'), COALESCE((SELECT MAX(id) FROM %[1]s), 0) + 1, false);`, table)
}

// migrate applies pending migrations. On PostgreSQL a session lock keeps replicas that start
// together from migrating twice.
func (db *DB) migrate(ctx context.Context) error {
	fsys, err := db.dialect.migrations()
	if err != nil {
		return fmt.Errorf("read migrations: %w", err)
	}
	gd := goose.DialectSQLite3
	var opts []goose.ProviderOption
	if db.dialect == postgres {
		gd = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(gd, db.w.DB, fsys, opts...)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}

// WhileMigrating runs fn holding the lock that migrations hold on PostgreSQL, so schema work
// outside the store's own migrations (the job queue's tables) is done once by replicas that
// start together, not raced. On SQLite, one process owns the file and fn just runs.
func (db *DB) WhileMigrating(ctx context.Context, fn func() error) error {
	if db.dialect != postgres {
		return fn()
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	defer conn.Close()
	if err := locker.SessionLock(ctx, conn); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	defer func() { _ = locker.SessionUnlock(context.WithoutCancel(ctx), conn) }()
	return fn()
}
