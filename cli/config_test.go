package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

// TestConfigCommands: prod's configmap is protected by a config policy, so a direct set is
// refused and the change goes through a draft: edited (a stale base version is refused),
// proposed, refused to its author, approved by a config approver, published. Compare shows
// the environments' difference; secrets set on the unprotected dev stay masked for a viewer.
func TestConfigCommands(t *testing.T) { testdb.ForEach(t, configCommands) }

func configCommands(t *testing.T, engine string) {
	srv := testserver.Start(t, engine)
	dir := t.TempDir()
	admin := &term{t: t, server: srv.URL, config: filepath.Join(dir, "admin.json")}
	admin.ok(testserver.Password+"\n", "login", "--server", srv.URL, "-u", "admin")
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	admin.ok("", "project", "create", "shop")
	admin.ok("", "cluster", "create", "k", "--kubeconfig", write("kc.yaml", kubeconfig))
	for _, e := range []string{"dev", "prod"} {
		admin.ok("", "env", "create", e, "-p", "shop", "--cluster", "k", "--namespace", "shop-"+e)
	}
	admin.ok("", "app", "create", "web", "-p", "shop")
	people := admin.people(dir, map[string]string{"carol": "config-approver", "vic": "viewer"})
	admin.ok("", "access", "grant", "config-approver", "project:shop", "--user", "admin")
	admin.ok("name: cfg\nkind: config\nscope: project:shop/env:prod\nrules:\n  - {kind: any, count: 1}\n", "policy", "create", "-f", "-")
	carol, vic := people["carol"], people["vic"]
	prod := []string{"-p", "shop", "-a", "web", "--env", "prod", "--kind", "configmap"}
	cfg := func(args ...string) []string { return append(append([]string{"config"}, args...), prod...) }

	// Bad flags name the flag.
	admin.fails(2, "--kind", "config", "get", "-p", "shop", "-a", "web", "--kind", "nope")
	admin.fails(2, "--env: is required for --kind secrets", "config", "get", "-p", "shop", "-a", "web", "--kind", "secrets")
	admin.fails(2, "--file: is required", cfg("set")...)
	admin.fails(2, `"pending" is not a state`, "config", "draft", "list", "--state", "pending")

	admin.fails(7, "protected by policy cfg: changes go through a draft", cfg("set", "-f", write("direct.yaml", "LOG_LEVEL: debug\n"))...)
	var d struct {
		ID      int64
		State   string
		Version int64
	}
	decode := func(out string) {
		t.Helper()
		if err := json.Unmarshal([]byte(out), &d); err != nil {
			t.Fatalf("%s (%v)", out, err)
		}
	}
	decode(admin.ok("LOG_LEVEL: debug\n", cfg("draft", "create", "-f", "-", "-m", "debug logging", "-o", "json")...))
	id := itoa(int(d.ID))
	if d.State != "draft" || d.Version != 1 {
		t.Fatalf("created draft: %+v", d)
	}
	decode(admin.ok("LOG_LEVEL: debug\nTRACE: \"on\"\n", "config", "draft", "edit", id, "-f", "-", "--base-version", "1", "-o", "json"))
	if d.Version != 2 {
		t.Fatalf("edited draft: %+v", d)
	}
	admin.fails(6, "draft changed, reload", "config", "draft", "edit", id, "-f", write("stale.yaml", "LOG_LEVEL: warn\n"), "--base-version", "1")
	// Without --base-version the edit starts from the draft's current version.
	decode(admin.ok("LOG_LEVEL: debug\nTRACE: \"off\"\n", "config", "draft", "edit", id, "-f", "-", "-o", "json"))
	if d.Version != 3 {
		t.Fatalf("edited draft: %+v", d)
	}
	admin.ok("", "config", "draft", "comment", id, "TRACE off until the incident is over")
	if out := admin.ok("", "config", "diff", id); !strings.Contains(out, "+ LOG_LEVEL: debug") || !strings.Contains(out, "+LOG_LEVEL: debug") {
		t.Fatalf("diff:\n%s", out)
	}
	if out := admin.ok("", "config", "diff", id, "--side-by-side"); !strings.Contains(out, ">    1 LOG_LEVEL: debug") {
		t.Fatalf("side-by-side diff:\n%s", out)
	}

	// admin may approve config in shop, but not a draft it wrote.
	admin.ok("", "config", "propose", id, "--notify", "carol", "-m", "please")
	admin.fails(4, "admin wrote a version of the draft", "config", "approve", id, "--version", "3")
	carol.fails(2, "--comment: is required", "config", "reject", id, "--version", "3")
	carol.fails(2, "--version: is required: the draft version you reviewed (see gatehouse config draft show "+id+")", "config", "approve", id)
	if out := carol.ok("", "config", "draft", "list", "--mine"); !strings.Contains(out, "shop/web") {
		t.Fatalf("carol's drafts:\n%s", out)
	}
	decode(carol.ok("", "config", "approve", id, "--version", "3", "-m", "ok", "-o", "json"))
	if d.State != "approved" {
		t.Fatalf("approved draft: %+v", d)
	}
	out := admin.ok("", "config", "draft", "show", id)
	for _, want := range []string{"Draft " + id + ": shop/web prod configmap\nKind configmap, approved, version 3\n", "Policy cfg v1",
		"carol approved via", "TRACE off until the incident is over", "v2 by admin", "+LOG_LEVEL: debug"} {
		if !strings.Contains(out, want) {
			t.Fatalf("show lacks %q:\n%s", want, out)
		}
	}
	decode(admin.ok("", "config", "publish", id, "-o", "json"))
	if d.State != "published" {
		t.Fatalf("published draft: %+v", d)
	}
	if out := vic.ok("", cfg("get")...); out != "LOG_LEVEL: debug\nTRACE: \"off\"\n" && out != "LOG_LEVEL: debug\nTRACE: off\n" {
		t.Fatalf("get after publish: %q", out)
	}
	if out := admin.ok("", "config", "draft", "list", "-p", "shop", "--state", "published"); !strings.Contains(out, "published") {
		t.Fatalf("published drafts:\n%s", out)
	}

	if out := admin.ok("", "config", "compare", "dev", "prod", "-p", "shop", "-a", "web"); !strings.Contains(out, "LOG_LEVEL") ||
		!strings.Contains(out, "compared by key only") {
		t.Fatalf("compare:\n%s", out)
	}

	// Secrets on the unprotected dev: set directly, and shown to a viewer by key only.
	admin.ok("DB_PASSWORD: planted-secret-4711\n", "config", "set", "-p", "shop", "-a", "web", "--env", "dev", "--kind", "secrets", "-f", "-")
	for _, args := range [][]string{{}, {"-o", "json"}} {
		out := vic.ok("", append([]string{"config", "get", "-p", "shop", "-a", "web", "--env", "dev", "--kind", "secrets"}, args...)...)
		if strings.Contains(out, "planted-secret") || !strings.Contains(out, "DB_PASSWORD") {
			t.Fatalf("viewer's secrets:\n%s", out)
		}
	}
}
