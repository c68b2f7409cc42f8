package cli_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/internal/testbed"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

// TestDeployCommands drives deploys from the CLI against a real server with workers and a
// testbed cluster: deploy --wait, a failing deploy that rolls back by itself (exit 10),
// history, a deployment's events, diff and rollback.
func TestDeployCommands(t *testing.T) {
	cluster := testbed.StartT(t, testbed.Options{Nodes: 1}) // one cluster: each engine deploys to namespaces of its own
	testdb.ForEach(t, func(t *testing.T, engine string) { deployCommands(t, engine, cluster) })
}

func deployCommands(t *testing.T, engine string, cluster *testbed.Cluster) {
	srv := testserver.StartDeploying(t, engine)
	dir := t.TempDir()
	tm := &term{t: t, server: srv.URL, config: filepath.Join(dir, "cli.json")}
	tm.ok(testserver.Password+"\n", "login", "--server", srv.URL, "-u", "admin")
	if err := os.WriteFile(filepath.Join(dir, "kc.yaml"), cluster.Kubeconfig(), 0o600); err != nil {
		t.Fatal(err)
	}
	tm.ok("", "project", "create", "shop")
	tm.ok("", "cluster", "create", "local", "--kubeconfig", filepath.Join(dir, "kc.yaml"))
	tm.ok("", "env", "create", "dev", "-p", "shop", "--cluster", "local", "--namespace", "shop-dev-"+engine)
	tm.ok("", "env", "create", "prod", "-p", "shop", "--cluster", "local", "--namespace", "shop-prod-"+engine, "--production")
	tm.ok("replicas: 2\n", "app", "create", "web", "-p", "shop", "--values", "-")
	tm.ok("replicas: 3\n", "app", "set-overrides", "web", "prod", "-p", "shop", "--values", "-")
	tm.ok("", "pipeline", "set", "-p", "shop", "-a", "web", "--stage", "dev,trigger=auto", "--stage", "prod,after=dev,auto_rollback=true,timeout=20s")
	good := "sha256:" + strings.Repeat("1", 64)
	tm.ok("", "artifact", "push", "registry.example.com/web:1.0@"+good, "-p", "shop", "-a", "web")
	out := tm.ok("", "deploy", "-p", "shop", "-a", "web", "--env", "prod", "--tag", "1.0", "--wait")
	for _, want := range []string{"queued", "applied release web revision 1", "Deployment/web is ready", "succeeded in"} {
		if !strings.Contains(out, want) {
			t.Fatalf("deploy --wait output lacks %q:\n%s", want, out)
		}
	}
	tm.ok("", "artifact", "push", "registry.example.com/web-unpullable:2.0@sha256:"+strings.Repeat("2", 64), "-p", "shop", "-a", "web")
	_, errOut, code := tm.run("", "deploy", "-p", "shop", "-a", "web", "--env", "prod", "--tag", "2.0", "--wait")
	if code != 10 || !strings.Contains(errOut, "rolled-back") || !strings.Contains(errOut, "ImagePullBackOff") {
		t.Fatalf("failing deploy: exit %d %s", code, errOut)
	}
	var hist []map[string]any
	if err := json.Unmarshal([]byte(tm.ok("", "history", "-p", "shop", "-a", "web", "--env", "prod", "-o", "json")), &hist); err != nil || len(hist) != 2 {
		t.Fatalf("history: %v %v", hist, err)
	}
	first := int(hist[1]["id"].(float64))
	second := int(hist[0]["id"].(float64))
	if hist[0]["state"] != "rolled-back" || hist[1]["state"] != "succeeded" {
		t.Fatalf("history states %v, %v", hist[0]["state"], hist[1]["state"])
	}
	// A page of one names the cursor of the next, which lists the older deployment.
	newest, more, code := tm.run("", "history", "-p", "shop", "-a", "web", "--env", "prod", "--limit", "1", "-o", "json")
	_, cursor, _ := strings.Cut(strings.TrimSpace(more), "--cursor ")
	if code != 0 || !strings.Contains(newest, fmt.Sprintf(`"id": %d`, second)) || cursor == "" {
		t.Fatalf("history --limit 1: exit %d %s\n%s", code, newest, more)
	}
	var older []map[string]any
	if err := json.Unmarshal([]byte(tm.ok("", "history", "-p", "shop", "-a", "web", "--env", "prod", "--cursor", cursor, "-o", "json")), &older); err != nil ||
		len(older) != 1 || int(older[0]["id"].(float64)) != first {
		t.Fatalf("history --cursor %s: %v %v", cursor, older, err)
	}
	out = tm.ok("", "deployment", "diff", itoa(first), itoa(second), "-p", "shop", "-a", "web")
	if !strings.Contains(out, "~ image: registry.example.com/web@"+good) || !strings.Contains(out, "~ image.digest:") {
		t.Fatalf("diff:\n%s", out)
	}
	out = tm.ok("", "deployment", "get", itoa(second), "-p", "shop", "-a", "web")
	if !strings.Contains(out, "rolling back to revision 1") {
		t.Fatalf("deployment get:\n%s", out)
	}
	out = tm.ok("", "rollback", itoa(first), "-p", "shop", "-a", "web", "--wait")
	if !strings.Contains(out, "succeeded in") {
		t.Fatalf("rollback:\n%s", out)
	}
	tm.fails(7, "only a deployment that succeeded", "rollback", itoa(second), "-p", "shop", "-a", "web")
	tm.fails(5, `tagged "9.9"`, "deploy", "-p", "shop", "-a", "web", "--env", "prod", "--tag", "9.9")
}

func itoa(n int) string { return strconv.Itoa(n) }
