package cli_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

// TestPasswdRevokesLoginTokens: `gatehouse passwd` revokes the person's `gatehouse login`
// tokens (the saved one too: the next command must sign in again), and `token list` shows each
// revoked one with its reason, while a personal API token made for a script keeps working.
func TestPasswdRevokesLoginTokens(t *testing.T) { testdb.ForEach(t, passwdRevokesLoginTokens) }

func passwdRevokesLoginTokens(t *testing.T, engine string) {
	srv := testserver.Start(t, engine)
	dir := t.TempDir()
	admin := &term{t: t, server: srv.URL, config: filepath.Join(dir, "admin.json")}
	admin.ok(testserver.Password+"\n", "login", "--server", srv.URL, "-u", "admin")
	admin.ok(testserver.Password+"\n", "user", "create", "alice")
	alice := &term{t: t, server: srv.URL, config: filepath.Join(dir, "alice.json")}
	alice.ok(testserver.Password+"\n", "login", "--server", srv.URL, "-u", "alice")
	script := alice.ok("", "token", "create", "script", "-o", "json")
	var api gatehouse.NewToken
	if err := json.Unmarshal([]byte(script), &api); err != nil {
		t.Fatalf("token create: %s (%v)", script, err)
	}

	const next = "another long passphrase"
	if out := alice.ok(testserver.Password+"\n"+next+"\n", "passwd"); !strings.Contains(out, "sign in again") {
		t.Fatalf("passwd said %q", out)
	}
	alice.fails(3, "revoked", "token", "list")
	alice.ok(next+"\n", "login", "--server", srv.URL, "-u", "alice")
	out := alice.ok("", "token", "list")
	var revoked, active []string
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.Contains(line, "revoked") && strings.Contains(line, "password changed"):
			revoked = append(revoked, line)
		case strings.Contains(line, "active"):
			active = append(active, line)
		}
	}
	if len(revoked) != 1 || !strings.Contains(revoked[0], "login") || len(active) != 2 || !strings.Contains(out, api.Prefix) {
		t.Fatalf("token list after passwd and a new login:\n%s", out)
	}
	var list []gatehouse.Token
	if err := json.Unmarshal([]byte(alice.ok("", "token", "list", "-o", "json")), &list); err != nil || len(list) != 3 ||
		list[0].RevokedReason != "password changed" || list[1].RevokedAt != nil || list[2].RevokedAt != nil {
		t.Fatalf("token list -o json: %+v (%v)", list, err)
	}
}
