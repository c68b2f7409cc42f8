package main_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
	"github.com/gatehousehq/gatehouse/keyring"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// openData opens the SQLite store of a data directory with its key files, as serve does.
func openData(t *testing.T, dir string) *sqlstore.DB {
	t.Helper()
	secrets, _, err := keyring.LoadOrCreate(filepath.Join(dir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	audit, _, err := keyring.LoadOrCreate(filepath.Join(dir, "audit.key"))
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.New(secrets...)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{DSN: filepath.Join(dir, "gatehouse.db"), Secrets: ring, AuditKey: audit[0]})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// keyFileIDs returns the ids of the keys in the data directory's key file, the current first.
func keyFileIDs(t *testing.T, dir string) []string {
	t.Helper()
	path := filepath.Join(dir, "secret.key")
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := keyring.ParseKeys(string(b))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range keys {
		ids = append(ids, keyring.KeyID(k))
	}
	return ids
}

// TestKeysRotateStatusRetire rotates the secret key of a SQLite data directory with the
// binary, as an operator would, and retires old keys only once nothing is sealed by them.
func TestKeysRotateStatusRetire(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	db := openData(t, dir)
	ctx := gatehouse.WithActor(context.Background(), gatehouse.SystemActor())
	if _, err := sqlstore.NewClusterService(db).CreateCluster(ctx, gatehouse.ClusterCreate{Name: "c1", Kubeconfig: gatehouse.NewSecret(testdb.Kubeconfig)}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	first := keyFileIDs(t, dir)

	// keys runs `gatehouse keys ARGS` on the data directory, wants the exit code and returns
	// what it printed: stdout, then stderr.
	keys := func(want int, args ...string) string {
		t.Helper()
		cmd := exec.Command(testserver.Binary(t), append([]string{"keys", "--data-dir", dir}, args...)...)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		out := stdout.String() + stderr.String()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != want {
			t.Fatalf("keys %v: exit %d, want %d:\n%s", args, code, want, out)
		}
		if strings.Contains(out, testdb.KubeconfigToken) {
			t.Fatalf("keys %v prints a secret:\n%s", args, out)
		}
		if slices.Contains(args, "json") {
			return stdout.String()
		}
		return out
	}
	status := func() map[string]string {
		t.Helper()
		var s struct {
			Keys []struct {
				ID, State string
				Values    int
			}
		}
		if err := json.Unmarshal([]byte(keys(0, "status", "-o", "json")), &s); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, k := range s.Keys {
			out[k.ID] = k.State + "/" + strings.Repeat("v", k.Values)
		}
		return out
	}

	out := keys(0, "rotate")
	ids := keyFileIDs(t, dir)
	if len(ids) != 2 || ids[1] != first[0] || !strings.Contains(out, "New current key "+ids[0]) || !strings.Contains(out, "clusters: 1 value re-sealed") {
		t.Fatalf("rotate: keys %v\n%s", ids, out)
	}
	if got := status(); len(got) != 2 || got[ids[0]] != "current/v" || got[ids[1]] != "old/" {
		t.Fatalf("status after rotate = %v", got)
	}
	if out := keys(7, "retire", ids[0]); !strings.Contains(out, "is the current key") {
		t.Fatalf("retire current: %s", out)
	}
	keys(5, "retire", "0badc0de")
	keys(0, "retire", ids[1])
	if got := keyFileIDs(t, dir); len(got) != 1 || got[0] != ids[0] {
		t.Fatalf("after retire the key file holds %v", got)
	}

	// Only the file changes: the old key still seals the value, so it stays until a reseal.
	keys(0, "rotate", "--no-reseal")
	ids = keyFileIDs(t, dir)
	if out := keys(7, "retire", ids[1]); !strings.Contains(out, "still seals 1 value") || !strings.Contains(out, "gatehouse keys reseal") {
		t.Fatalf("retire a key in use: %s", out)
	}
	var rep sqlstore.ResealReport
	if err := json.Unmarshal([]byte(keys(0, "reseal", "-o", "json")), &rep); err != nil || rep.Current != ids[0] ||
		rep.Resealed["clusters"] != 1 || rep.SealedBy[ids[0]] != 1 || len(rep.SealedBy) != 1 {
		t.Fatalf("reseal report %+v %v", rep, err)
	}
	keys(0, "retire", ids[1])
	if got := status(); len(got) != 1 || got[ids[0]] != "current/v" {
		t.Fatalf("status at the end = %v", got)
	}

	// The server's store reads the kubeconfig with the final key file, and the chain holds.
	db = openData(t, dir)
	defer db.Close()
	kc, err := db.Kubeconfig(ctx, "c1")
	if err != nil || kc.Reveal() != testdb.Kubeconfig {
		t.Fatalf("kubeconfig after rotations: %v", err)
	}
	report, err := sqlstore.NewAuditService(db).VerifyAudit(ctx)
	if err != nil || !report.OK {
		t.Fatalf("audit chain: %+v %v", report, err)
	}
	events, err := sqlstore.NewAuditService(db).AuditEvents(ctx, gatehouse.AuditFilter{Action: "keys.rotate"})
	if err != nil || len(events) != 2 {
		t.Fatalf("keys.rotate events: %d %v", len(events), err)
	}

	keys(7, "status", "--data-dir", filepath.Join(dir, "nothing-here"))
}
