package cli_test

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// TestApprovalCommands: a deployer requests approval, approvers vote from the CLI (signed in
// with gatehouse login), a script token and the requester are refused, the gate refuses a
// re-pointed tag's new digest, and the approved digest deploys once.
func TestApprovalCommands(t *testing.T) { testdb.ForEach(t, approvalCommands) }

func approvalCommands(t *testing.T, engine string) {
	srv, dir, admin := shopWithProd(t, engine)
	admin.ok("", "pipeline", "set", "-p", "shop", "-a", "web", "--stage", "prod")
	people := admin.people(dir, map[string]string{"alice": "deployer", "bob": "image-approver", "carol": "image-approver"})
	admin.ok("name: prod-gate\nscope: project:shop/env:prod\nrules:\n  - {kind: any, count: 2}\n", "policy", "create", "-f", "-")
	if out := admin.ok("", "policy", "list"); !strings.Contains(out, "prod-gate") || !strings.Contains(out, "2 approvers") {
		t.Fatalf("policy list:\n%s", out)
	}
	alice, bob, carol := people["alice"], people["bob"], people["carol"]
	// A vote where prod-gate counts it is given through prod-gate's approvers.
	admin.fails(7, "access of user alice is protected by policy prod-gate", "access", "grant", "image-approver", "project:shop", "--user", "alice")
	out := admin.ok("", "access", "grant", "image-approver", "project:shop", "--user", "alice", "--propose", "-m", "alice approves too")
	if !strings.Contains(out, "access of user alice, version 1") || !strings.Contains(out, "prod-gate") {
		t.Fatalf("access grant --propose:\n%s", out)
	}
	id := regexp.MustCompile(`Draft (\d+) proposed`).FindStringSubmatch(out)[1]
	bob.ok("", "draft", "approve", id, "--version", "1")
	carol.ok("", "draft", "approve", id, "--version", "1")
	admin.ok("", "draft", "publish", id)
	if out := admin.ok("", "access", "list", "--user", "alice"); !strings.Contains(out, "image-approver") {
		t.Fatalf("alice's roles after the draft:\n%s", out)
	}
	one := "sha256:" + strings.Repeat("1", 64)
	two := "sha256:" + strings.Repeat("2", 64)
	admin.ok("", "artifact", "push", "registry.example.com/web:1.0@"+one, "-p", "shop", "-a", "web")

	alice.fails(7, "no open approval request", "deploy", "-p", "shop", "-a", "web", "--env", "prod", "--tag", "1.0")
	out = alice.ok("", "approval", "request", "-p", "shop", "-a", "web", "--env", "prod", "--tag", "1.0", "-m", "hotfix", "-o", "json")
	var req struct {
		ID    int64  `json:"id"`
		State string `json:"state"`
	}
	if err := json.Unmarshal([]byte(out), &req); err != nil || req.State != "pending" {
		t.Fatalf("request: %s (%v)", out, err)
	}
	id = itoa(int(req.ID))
	if out := bob.ok("", "approval", "pending"); !strings.Contains(out, "shop/web") {
		t.Fatalf("bob's inbox:\n%s", out)
	}
	alice.fails(4, "alice requested it", "approval", "approve", id)
	// A token made for scripts never approves, even bob's own.
	tokOut := bob.ok("", "token", "create", "script", "-o", "json")
	var tok struct{ Token string }
	if err := json.Unmarshal([]byte(tokOut), &tok); err != nil {
		t.Fatal(err)
	}
	script := &term{t: t, server: srv.URL, config: filepath.Join(dir, "none.json")}
	script.fails(4, "API tokens and service accounts never approve", "approval", "approve", id, "--server", srv.URL, "--token", tok.Token)
	bob.ok("", "approval", "approve", id, "-m", "ok")
	if out := bob.ok("", "approval", "pending"); strings.Contains(out, "shop/web") {
		t.Fatalf("a voted request stays in bob's inbox:\n%s", out)
	}
	out = carol.ok("", "approval", "show", id)
	if !strings.Contains(out, "Policy prod-gate v1: met=false needs 1 more approval") || !strings.Contains(out, "bob approved via token") {
		t.Fatalf("show:\n%s", out)
	}
	carol.ok("", "approval", "approve", id)
	// The tag moves to a new digest after approval: deploying by tag now means the new digest,
	// which nobody approved.
	admin.ok("", "artifact", "push", "registry.example.com/web:1.0@"+two, "-p", "shop", "-a", "web")
	alice.fails(7, "no open approval request for "+two, "deploy", "-p", "shop", "-a", "web", "--env", "prod", "--tag", "1.0")
	bob.fails(4, "bob may not deploy", "deploy", "-p", "shop", "-a", "web", "--env", "prod", "--digest", one)
	admin.ok("", "access", "grant", "deployer", "project:shop", "--user", "bob")
	bob.fails(4, "bob approved this image for prod and may not deploy it", "deploy", "-p", "shop", "-a", "web", "--env", "prod", "--digest", one)
	alice.ok("", "deploy", "-p", "shop", "-a", "web", "--env", "prod", "--digest", one)
	alice.fails(7, "no open approval request", "deploy", "-p", "shop", "-a", "web", "--env", "prod", "--digest", one)
	if out := alice.ok("", "approval", "list", "-p", "shop"); !strings.Contains(out, "consumed") {
		t.Fatalf("list:\n%s", out)
	}
	out = alice.ok("", "approval", "request", "-p", "shop", "-a", "web", "--env", "prod", "--digest", two, "-o", "json")
	_ = json.Unmarshal([]byte(out), &req)
	carol.fails(2, "comment", "approval", "reject", itoa(int(req.ID)))
	carol.ok("", "approval", "reject", itoa(int(req.ID)), "-m", "failing smoke tests")
	alice.fails(7, "is rejected", "approval", "cancel", itoa(int(req.ID)))
}
