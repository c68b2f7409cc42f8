package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

// TestGatedSettingsCommands: prod's placement is protected, so env update refuses to move it
// and says how; --propose opens and proposes a draft of the move; a vote names the version it
// saw (none: refused naming --version; an old one: "changed since you looked"); another
// person approves, and publishing moves the environment. Deleting the prod policy is a draft
// that the policy's own approvers judge, never a config approver or its author.
func TestGatedSettingsCommands(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		srv := testserver.Start(t, engine)
		dir := t.TempDir()
		admin := &term{t: t, server: srv.URL, config: filepath.Join(dir, "admin.json")}
		admin.ok(testserver.Password+"\n", "login", "--server", srv.URL, "-u", "admin")
		admin.ok("", "project", "create", "shop")
		admin.ok(kubeconfig, "cluster", "create", "k", "--kubeconfig", "-")
		for _, e := range []string{"dev", "prod"} {
			admin.ok("", "env", "create", e, "-p", "shop", "--cluster", "k", "--namespace", "shop-"+e)
		}
		people := admin.people(dir, map[string]string{"carol": "config-approver", "bob": "image-approver"})
		admin.ok("name: cfg\nkind: config\nscope: project:shop/env:prod\nrules:\n  - {kind: any, count: 1}\n", "policy", "create", "-f", "-")
		admin.ok("name: prod-gate\nscope: project:shop/env:prod\nrules:\n  - {kind: any, count: 1}\n", "policy", "create", "-f", "-")
		carol, bob := people["carol"], people["bob"]
		proposed := regexp.MustCompile(`Draft (\d+) proposed: `)
		idOf := func(out string) string {
			t.Helper()
			m := proposed.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("no draft id in:\n%s", out)
			}
			return m[1]
		}

		// Unprotected dev moves directly; prod refuses and names the way through.
		admin.ok("", "env", "update", "dev", "-p", "shop", "--namespace", "shop-dev2")
		admin.fails(7, "changes go through a draft that they judge (the command's --propose, or gatehouse draft create --kind environment)",
			"env", "update", "prod", "-p", "shop", "--namespace", "shop-live")
		admin.fails(2, "--notify: only goes with --propose", "env", "update", "prod", "-p", "shop", "--namespace", "shop-live", "--notify", "carol")
		admin.fails(2, "--description: does not go with --propose", "env", "update", "prod", "-p", "shop", "--namespace", "shop-live", "--description", "x", "--propose")
		admin.fails(2, "--propose: has no placement to draft", "env", "update", "prod", "-p", "shop", "--propose")

		out := admin.ok("", "env", "update", "prod", "-p", "shop", "--namespace", "shop-live", "--propose", "-m", "own namespace", "--notify", "carol")
		id := idOf(out)
		for _, want := range []string{"Draft " + id + " proposed: placement of environment shop/prod, version 1",
			"~ namespace: shop-prod → shop-live", "Who must approve:", "Policy cfg v1: met=false needs 1 more approval", "Notified: carol",
			"gatehouse draft approve " + id + " --version 1"} {
			if !strings.Contains(out, want) {
				t.Fatalf("env update --propose lacks %q:\n%s", want, out)
			}
		}
		if out := carol.ok("", "draft", "list", "--mine"); !strings.Contains(out, "placement of environment shop/prod") {
			t.Fatalf("carol's drafts:\n%s", out)
		}

		// Votes name the version they saw.
		carol.fails(2, "--version: is required: the draft version you reviewed (see gatehouse draft show "+id+")", "draft", "approve", id)
		admin.ok("cluster: k\nnamespace: shop-live\nallow_namespaces: [monitoring]\n", "draft", "edit", id, "-f", "-", "-m", "and monitoring")
		carol.fails(6, "changed since you looked", "draft", "approve", id, "--version", "1")
		out = carol.ok("", "draft", "show", id)
		for _, want := range []string{"Draft " + id + ": placement of environment shop/prod\nKind environment, proposed, version 2\n",
			"gatehouse draft approve " + id + " --version 2", "v2 by admin", "+ allow_namespaces[0]: monitoring"} {
			if !strings.Contains(out, want) {
				t.Fatalf("draft show lacks %q:\n%s", want, out)
			}
		}
		var d struct {
			State   string `json:"state"`
			Version int64  `json:"version"`
		}
		if err := json.Unmarshal([]byte(carol.ok("", "draft", "approve", id, "--version", "2", "-m", "ok", "-o", "json")), &d); err != nil || d.State != "approved" {
			t.Fatalf("approved draft: %+v (%v)", d, err)
		}
		if out := admin.ok("", "env", "get", "prod", "-p", "shop"); !strings.Contains(out, "shop-prod") {
			t.Fatalf("prod moved before its draft was published:\n%s", out)
		}
		admin.ok("", "draft", "publish", id)
		out = admin.ok("", "env", "get", "prod", "-p", "shop")
		if !strings.Contains(out, "shop-live") || !strings.Contains(out, "namespaces monitoring") {
			t.Fatalf("prod after publishing:\n%s", out)
		}
		if out := admin.ok("", "draft", "list", "-p", "shop", "--kind", "environment", "--state", "published"); !strings.Contains(out, "placement of environment shop/prod") {
			t.Fatalf("published drafts:\n%s", out)
		}

		// Drafts of any kind name their subject by flags, and errors name the flag.
		admin.fails(2, "--kind: is required", "draft", "create", "-p", "shop", "-f", "-")
		admin.fails(2, "--app: a environment draft names no app", "draft", "create", "--kind", "environment", "-p", "shop", "-a", "web", "--env", "prod", "-f", "-")
		if out := admin.ok("", "draft", "live", "--kind", "environment", "-p", "shop", "--env", "prod"); !strings.Contains(out, "namespace: shop-live") {
			t.Fatalf("draft live:\n%s", out)
		}

		// An app's hooks and its pipeline's prod stage are protected too: one setting a draft.
		admin.ok("", "app", "create", "web", "-p", "shop")
		hooks := filepath.Join(dir, "hooks.yaml")
		if err := os.WriteFile(hooks, []byte("pre_deploy:\n  - {name: migrate, image: 'registry.example.com/migrate@sha256:"+strings.Repeat("c", 64)+"'}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		admin.fails(7, "gatehouse draft create --kind hooks", "app", "update", "web", "-p", "shop", "--hooks", hooks)
		admin.fails(2, "--propose: drafts one setting at a time", "app", "update", "web", "-p", "shop", "--hooks", hooks, "--chart-version", "2", "--propose")
		if out := admin.ok("", "app", "update", "web", "-p", "shop", "--hooks", hooks, "--propose"); !strings.Contains(out, "proposed: hooks of app shop/web") ||
			!strings.Contains(out, "+ pre_deploy: [{") {
			t.Fatalf("app update --hooks --propose:\n%s", out)
		}
		// Chart flags change the fields they name in the live chart.
		cid := idOf(admin.ok("", "app", "update", "web", "-p", "shop", "--chart-source", "repository", "--chart-url", "https://charts.example.com",
			"--chart-name", "web", "--chart-version", "1.0", "--propose"))
		carol.ok("", "draft", "approve", cid, "--version", "1")
		admin.ok("", "draft", "publish", cid)
		out = admin.ok("", "app", "update", "web", "-p", "shop", "--chart-version", "1.1", "--propose")
		if !strings.Contains(out, `~ version: "1.0" → "1.1"`) || strings.Contains(out, "source") {
			t.Fatalf("app update --chart-version --propose:\n%s", out)
		}
		out = admin.ok("stages: [{environment: prod, auto_rollback: true}]\n", "pipeline", "set", "-p", "shop", "-a", "web", "-f", "-", "--propose")
		if !strings.Contains(out, "proposed: pipeline of app shop/web") || !strings.Contains(out, "auto_rollback: true") {
			t.Fatalf("pipeline set --propose:\n%s", out)
		}

		// Deleting the prod gate is judged by the gate's own approvers.
		admin.fails(7, "changes go through a draft", "policy", "delete", "prod-gate")
		out = admin.ok("", "policy", "delete", "prod-gate", "--propose", "-m", "retire the gate")
		pid := idOf(out)
		for _, want := range []string{"Draft " + pid + " proposed: policy prod-gate", "Loosens the policy:\n  - deletes the policy", "Policy prod-gate v1: met=false"} {
			if !strings.Contains(out, want) {
				t.Fatalf("policy delete --propose lacks %q:\n%s", want, out)
			}
		}
		if out := bob.ok("", "draft", "show", pid); !strings.Contains(out, "Kind policy, proposed, version 1") || !strings.Contains(out, "- deletes the policy") {
			t.Fatalf("policy draft show:\n%s", out)
		}
		carol.fails(4, "", "draft", "approve", pid, "--version", "1")
		bob.ok("", "draft", "approve", pid, "--version", "1")
		admin.ok("", "draft", "publish", pid)
		admin.fails(5, `policy "prod-gate" not found`, "policy", "get", "prod-gate")
	})
}
