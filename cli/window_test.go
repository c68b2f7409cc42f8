package cli_test

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// TestFreezeCommands: a freeze on prod from the CLI says when it opens; it stops a person's
// deploy (exit 7, with when it opens) while the approval of the automatic prod stage waits
// for it, visible on the pipeline; deleting the freeze takes a draft; erin breaks the glass
// with a reason (a short one is refused, as is a script's token), and bob acknowledges the
// review it left.
func TestFreezeCommands(t *testing.T) { testdb.ForEach(t, freezeCommands) }

func freezeCommands(t *testing.T, engine string) {
	srv, dir, admin := shopWithProd(t, engine)
	admin.ok("", "pipeline", "set", "-p", "shop", "-a", "web", "--stage", "prod,trigger=auto")
	people := admin.people(dir, map[string]string{"alice": "deployer", "bob": "image-approver", "erin": "deployer"})
	admin.ok("", "access", "grant", "break-glass", "project:shop/env:prod", "--user", "erin")
	admin.ok("name: prod-gate\nscope: project:shop/env:prod\nrules:\n  - {kind: any, count: 1}\n", "policy", "create", "-f", "-")
	alice, bob, erin := people["alice"], people["bob"], people["erin"]

	start, end := time.Now().Add(-time.Hour).UTC(), time.Now().Add(48*time.Hour).UTC()
	admin.ok("name: year-end-freeze\nkind: deny\nscope: project:shop/env:prod\ntimezone: Europe/Berlin\nstart: "+start.Format(time.RFC3339)+
		"\nend: "+end.Format(time.RFC3339)+"\ndescription: year-end close\n", "window", "create", "-f", "-")
	opens := "opens " + end.In(berlin(t)).Format("Mon 2 Jan 15:04") + " Europe/Berlin"
	if out := admin.ok("", "window", "list"); !strings.Contains(out, "year-end-freeze") || !strings.Contains(out, "year-end close") {
		t.Fatalf("window list:\n%s", out)
	}
	if out := alice.ok("", "window", "next", "-p", "shop", "--env", "prod"); !strings.Contains(out, "closed") || !strings.Contains(out, "closed by window year-end-freeze: "+opens) {
		t.Fatalf("window next:\n%s", out)
	}
	var state struct {
		Verdict struct {
			Open  bool      `json:"open"`
			Until time.Time `json:"until"`
		} `json:"verdict"`
	}
	if err := json.Unmarshal([]byte(alice.ok("", "window", "next", "-p", "shop", "--env", "prod", "-o", "json")), &state); err != nil ||
		state.Verdict.Open || !state.Verdict.Until.Equal(end.Truncate(time.Second)) {
		t.Fatalf("window next -o json: %+v %v", state, err)
	}

	one := "sha256:" + strings.Repeat("1", 64)
	admin.ok("", "artifact", "push", "registry.example.com/web:1.0@"+one, "-p", "shop", "-a", "web")
	out := alice.ok("", "approval", "request", "-p", "shop", "-a", "web", "--env", "prod", "--digest", one, "-o", "json")
	var req struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal([]byte(out), &req); err != nil {
		t.Fatal(err)
	}
	bob.ok("", "approval", "approve", strconv.FormatInt(req.ID, 10))
	if out := alice.ok("", "pipeline", "get", "-p", "shop", "-a", "web"); !strings.Contains(out, "prod closed by window year-end-freeze: "+opens) {
		t.Fatalf("pipeline get:\n%s", out)
	}
	var pl struct {
		Waiting []struct {
			Digest  string `json:"digest"`
			Message string `json:"message"`
		} `json:"waiting"`
	}
	if err := json.Unmarshal([]byte(alice.ok("", "pipeline", "get", "-p", "shop", "-a", "web", "-o", "json")), &pl); err != nil ||
		len(pl.Waiting) != 1 || pl.Waiting[0].Digest != one || !strings.Contains(pl.Waiting[0].Message, opens) {
		t.Fatalf("pipeline get -o json: %+v %v", pl, err)
	}
	alice.fails(7, "closed by window year-end-freeze: "+opens, "deploy", "-p", "shop", "-a", "web", "--env", "prod", "--digest", one)
	admin.fails(7, "window year-end-freeze is protected by policy prod-gate", "window", "delete", "year-end-freeze")
	if out := admin.ok("", "window", "delete", "year-end-freeze", "--propose", "-m", "close done"); !strings.Contains(out, "window year-end-freeze, version 1") ||
		!strings.Contains(out, "opens shop/web in prod where it was closed") {
		t.Fatalf("window delete --propose:\n%s", out)
	}

	erin.fails(2, "break_glass", "deploy", "-p", "shop", "-a", "web", "--env", "prod", "--digest", one, "--break-glass", "down")
	tokOut := erin.ok("", "token", "create", "script", "-o", "json")
	var tok struct{ Token string }
	if err := json.Unmarshal([]byte(tokOut), &tok); err != nil {
		t.Fatal(err)
	}
	script := &term{t: t, server: srv.URL, config: filepath.Join(dir, "none.json")}
	script.fails(4, "never through an API token", "deploy", "-p", "shop", "-a", "web", "--env", "prod", "--digest", one,
		"--break-glass", "checkout is down: shipping the hotfix now", "--server", srv.URL, "--token", tok.Token)
	out = erin.ok("", "deploy", "-p", "shop", "-a", "web", "--env", "prod", "--digest", one, "--break-glass", "checkout is down: shipping the hotfix now")
	if !strings.Contains(out, "break-glass") {
		t.Fatalf("break-glass deploy:\n%s", out)
	}
	if out := bob.ok("", "review", "list"); !strings.Contains(out, "erin") || !strings.Contains(out, "year-end-freeze") || !strings.Contains(out, "open") {
		t.Fatalf("review list:\n%s", out)
	}
	erin.fails(4, "erin", "review", "acknowledge", "1", "-m", "all fine, it was me")
	if out := bob.ok("", "review", "acknowledge", "1", "-m", "read the hotfix and the ticket"); !strings.Contains(out, "acknowledged") || !strings.Contains(out, "bob") {
		t.Fatalf("review acknowledge:\n%s", out)
	}
}

func berlin(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
