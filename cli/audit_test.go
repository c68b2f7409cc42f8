package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

// TestAuditCheckpoint: an administrator takes a checkpoint and keeps it in a file; verify
// --checkpoint proves the trail holds it, refuses an edited one, and exits 9 naming the
// checkpoint once the tail is cut below it.
func TestAuditCheckpoint(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		srv := testserver.Start(t, engine)
		dir := t.TempDir()
		admin := &term{t: t, server: srv.URL, config: filepath.Join(dir, "admin.json")}
		admin.ok(testserver.Password+"\n", "login", "--server", srv.URL, "--username", "admin")
		admin.ok("", "project", "create", "shop")

		// To stdout as JSON, with a line for people on stderr; -o json gives the JSON alone.
		out, errOut, code := admin.run("", "audit", "checkpoint")
		first := decodeCheckpoint(t, out)
		if code != 0 || first.Seq < 2 || !strings.Contains(errOut, "Checkpoint of the audit trail at event") || !strings.Contains(errOut, first.Hash) {
			t.Fatalf("audit checkpoint: exit %d, %q, %q", code, out, errOut)
		}
		if out, errOut, _ := admin.run("", "audit", "checkpoint", "-o", "json"); decodeCheckpoint(t, out).Seq != first.Seq+1 || errOut != "" {
			t.Fatalf("audit checkpoint -o json: %q, %q", out, errOut)
		}
		// To a new file; never over an older one.
		file := filepath.Join(dir, "checkpoint.json")
		if out := admin.ok("", "audit", "checkpoint", "--file", file); !strings.Contains(out, "Checkpoint of the audit trail at event") {
			t.Fatalf("audit checkpoint --file said %q", out)
		}
		saved, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		cp := decodeCheckpoint(t, string(saved))
		admin.fails(2, "--file: cannot write", "audit", "checkpoint", "--file", file)

		admin.ok("", "project", "create", "bank")
		out = admin.ok("", "audit", "verify", "--checkpoint", file)
		if !strings.Contains(out, "Audit trail intact") || !strings.Contains(out, "It holds the checkpoint of") {
			t.Fatalf("verify --checkpoint said %q", out)
		}
		var rep gatehouse.AuditReport
		if err := json.Unmarshal([]byte(admin.ok(string(saved), "audit", "verify", "--checkpoint", "-", "-o", "json")), &rep); err != nil ||
			!rep.OK || rep.Checkpoint == nil || rep.Checkpoint.Seq != cp.Seq {
			t.Fatalf("verify --checkpoint - -o json: %+v %v", rep, err)
		}

		// Edited, unreadable or not a checkpoint: refused, naming what is wrong.
		edited := filepath.Join(dir, "edited.json")
		if err := os.WriteFile(edited, []byte(strings.Replace(string(saved), cp.Hash, first.Hash, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		admin.fails(2, "checkpoint: its seal does not match", "audit", "verify", "--checkpoint", edited)
		admin.fails(2, "--checkpoint: cannot read", "audit", "verify", "--checkpoint", filepath.Join(dir, "none.json"))
		admin.fails(2, "is not a checkpoint", "audit", "verify", "--checkpoint", admin.config)

		// Only who administers the system takes checkpoints.
		admin.ok("bob-password-123\n", "user", "create", "bob")
		admin.ok("", "access", "grant", "admin", "project:shop", "--user", "bob")
		bob := &term{t: t, server: srv.URL, config: filepath.Join(dir, "bob.json")}
		bob.ok("bob-password-123\n", "login", "--server", srv.URL, "-u", "bob")
		bob.fails(4, "bob may not", "audit", "checkpoint")

		// Cut the tail below the checkpoint: verify exits 9; with the checkpoint it names it.
		if err := srv.DB.ChainPending(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, err := srv.DB.Raw().Exec(`DELETE FROM audit_events WHERE seq >= $1`, cp.Seq); err != nil {
			t.Fatal(err)
		}
		if _, err := srv.DB.Raw().Exec(`UPDATE audit_head SET seq = $1, hash = (SELECT hash FROM audit_events WHERE seq = $1)`, cp.Seq-1); err != nil {
			t.Fatal(err)
		}
		admin.fails(9, "the chain head was replaced: its seal does not match", "audit", "verify")
		admin.fails(9, "before the checkpoint of", "audit", "verify", "--checkpoint", file)
		admin.fails(7, "a checkpoint would vouch for it", "audit", "checkpoint")
	})
}

// TestAuditVerifyReportsPending: with the chain head held by another transaction (a stuck
// sequencer), verify still vouches for the chain and says how far behind the sequencer is.
func TestAuditVerifyReportsPending(t *testing.T) {
	srv := testserver.Start(t, "postgres")
	dir := t.TempDir()
	admin := &term{t: t, server: srv.URL, config: filepath.Join(dir, "admin.json")}
	admin.ok(testserver.Password+"\n", "login", "--server", srv.URL, "--username", "admin")
	// The sign-in's own event may still be queued: chain it, so the one pending is the project's.
	if err := srv.DB.ChainPending(t.Context()); err != nil {
		t.Fatal(err)
	}
	lock, err := srv.DB.Raw().BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback()
	if _, err := lock.Exec(`SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	admin.ok("", "project", "create", "shop")
	if out := admin.ok("", "audit", "verify"); !strings.Contains(out, "Audit trail intact") || !strings.Contains(out, "Waiting to be chained: 1 events, the oldest for ") {
		t.Fatalf("verify said %q", out)
	}
	var rep gatehouse.AuditReport
	if err := json.Unmarshal([]byte(admin.ok("", "audit", "verify", "-o", "json")), &rep); err != nil || !rep.OK || rep.Pending != 1 || rep.PendingAgeSeconds <= 0 {
		t.Fatalf("verify -o json: %+v %v", rep, err)
	}
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	if out := admin.ok("", "audit", "verify"); strings.Contains(out, "Waiting") {
		t.Fatalf("verify once the head is free said %q", out)
	}
}

func decodeCheckpoint(t *testing.T, s string) gatehouse.AuditCheckpoint {
	t.Helper()
	var cp gatehouse.AuditCheckpoint
	if err := json.Unmarshal([]byte(s), &cp); err != nil || cp.Seq == 0 || len(cp.MAC) != 64 || cp.Time.IsZero() {
		t.Fatalf("not a checkpoint: %q (%v)", s, err)
	}
	return cp
}
