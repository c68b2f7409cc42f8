package sqlstore

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/gatehousehq/gatehouse/keyring"
)

// TestAfterCommitRunsOnlyOnCommit checks the hooks of a write transaction run once it
// committed, in order, and never when it rolled back.
func TestAfterCommitRunsOnlyOnCommit(t *testing.T) {
	ring, err := keyring.New(keyring.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(context.Background(), Options{DSN: filepath.Join(t.TempDir(), "g.db"), Secrets: ring, AuditKey: keyring.NewKey()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ran []string
	failed := errors.New("refused")
	err = db.write(context.Background(), func(tx *Tx) error {
		tx.afterCommit(func() { ran = append(ran, "rolled back") })
		return failed
	})
	if !errors.Is(err, failed) || len(ran) != 0 {
		t.Fatalf("a rolled-back write: %v, hooks ran: %q", err, ran)
	}
	err = db.write(context.Background(), func(tx *Tx) error {
		tx.afterCommit(func() { ran = append(ran, "first") })
		if _, err := tx.ExecContext(tx.ctx, `UPDATE audit_head SET seq = seq WHERE id = 1`); err != nil {
			return err
		}
		tx.afterCommit(func() { ran = append(ran, "second") })
		return nil
	})
	if err != nil || len(ran) != 2 || ran[0] != "first" || ran[1] != "second" {
		t.Fatalf("a committed write: %v, hooks ran: %q", err, ran)
	}
}
