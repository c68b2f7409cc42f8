package cli_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

// TestPeopleShown: what a service account's token does counts as the person who made the
// token, and the CLI shows that person: token list (made by), artifact get (pusher) and
// approval get (requester (person)).
func TestPeopleShown(t *testing.T) { testdb.ForEach(t, peopleShown) }

func peopleShown(t *testing.T, engine string) {
	srv := testserver.Start(t, engine)
	dir := t.TempDir()
	admin := &term{t: t, server: srv.URL, config: filepath.Join(dir, "admin.json")}
	admin.ok(testserver.Password+"\n", "login", "--server", srv.URL, "-u", "admin")
	admin.ok("", "project", "create", "shop")
	admin.ok(kubeconfig, "cluster", "create", "k", "--kubeconfig", "-")
	admin.ok("", "env", "create", "prod", "-p", "shop", "--cluster", "k", "--namespace", "shop")
	admin.ok("", "app", "create", "web", "-p", "shop")
	admin.ok("", "pipeline", "set", "-p", "shop", "-a", "web", "--stage", "prod")
	admin.ok("name: prod-gate\nscope: project:shop/env:prod\nrules:\n  - {kind: any, count: 1}\n", "policy", "create", "-f", "-")
	admin.ok("", "user", "create", "ci", "--service")
	admin.ok("", "access", "grant", "deployer", "project:shop", "--user", "ci")
	var tok struct{ Token string }
	if err := json.Unmarshal([]byte(admin.ok("", "token", "create", "pipeline", "--user", "ci", "-o", "json")), &tok); err != nil {
		t.Fatal(err)
	}
	ci := &term{t: t, server: srv.URL, config: filepath.Join(dir, "ci.json")}
	asCI := func(args ...string) string {
		t.Helper()
		return ci.ok("", append(args, "--server", srv.URL, "--token", tok.Token)...)
	}

	// row finds the table row that contains key and returns its cells by column name.
	row := func(out, key string) map[string]string {
		t.Helper()
		lines := strings.Split(strings.TrimSpace(out), "\n")
		for _, l := range lines[1:] {
			if strings.Contains(l, key) {
				return columns(lines[0], l)
			}
		}
		t.Fatalf("no row with %q in:\n%s", key, out)
		return nil
	}
	if got := row(admin.ok("", "token", "list", "--user", "ci"), "pipeline")["MADE BY"]; got != "admin" {
		t.Fatalf("token list: made by %q, want admin", got)
	}
	digest := "sha256:" + strings.Repeat("ab", 32)
	asCI("artifact", "push", "registry.example.com/shop/web:1.0@"+digest, "-p", "shop", "-a", "web", "--builder", "somebody-else")
	if got := row(admin.ok("", "artifact", "get", digest, "-p", "shop", "-a", "web"), digest)["PUSHER"]; got != "admin" {
		t.Fatalf("artifact get: pusher %q, want admin", got)
	}
	var req struct{ ID int64 }
	if err := json.Unmarshal([]byte(asCI("approval", "request", "-p", "shop", "-a", "web", "--env", "prod", "--tag", "1.0", "-o", "json")), &req); err != nil {
		t.Fatal(err)
	}
	if got := row(admin.ok("", "approval", "get", itoa(int(req.ID))), "shop/web")["REQUESTER"]; got != "ci (admin)" {
		t.Fatalf("approval get: requester %q, want ci (admin)", got)
	}
}

// columns cuts a table line into cells by where the header's columns start (a header's
// names are separated by two or more spaces; cells may be empty), keyed by column name.
func columns(header, line string) map[string]string {
	h, l := []rune(header), []rune(line)
	var starts []int
	for i := range h {
		if h[i] != ' ' && (i == 0 || i >= 2 && h[i-1] == ' ' && h[i-2] == ' ') {
			starts = append(starts, i)
		}
	}
	cut := func(r []rune, i int) string {
		from, to := starts[i], len(r)
		if i+1 < len(starts) {
			to = starts[i+1]
		}
		return strings.TrimSpace(string(r[min(from, len(r)):min(to, len(r))]))
	}
	out := map[string]string{}
	for i := range starts {
		out[cut(h, i)] = cut(l, i)
	}
	return out
}
