package cli_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/cli"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

// term runs CLI commands in-process against a real server, as one user with one config file.
type term struct {
	t      *testing.T
	server string
	config string
}

// run executes a command line; stdin feeds the command's input. It returns stdout, stderr
// and the exit code the binary would exit with.
func (tm *term) run(stdin string, args ...string) (string, string, int) {
	tm.t.Helper()
	var out, errb bytes.Buffer
	a := &cli.App{In: strings.NewReader(stdin), Out: &out, Err: &errb}
	root := cli.NewRoot(a)
	root.SetArgs(append(args, "--cli-config", tm.config))
	err := root.ExecuteContext(tm.t.Context())
	if err != nil {
		cli.Report(&errb, err)
	}
	return out.String(), errb.String(), cli.ExitCode(err)
}

// ok runs a command that must succeed and returns its output.
func (tm *term) ok(stdin string, args ...string) string {
	tm.t.Helper()
	out, errOut, code := tm.run(stdin, args...)
	if code != 0 {
		tm.t.Fatalf("gatehouse %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// fails runs a command that must fail with the exit code and a message containing want.
func (tm *term) fails(code int, want string, args ...string) {
	tm.t.Helper()
	_, errOut, got := tm.run("", args...)
	if got != code || !strings.Contains(errOut, want) {
		tm.t.Fatalf("gatehouse %s: exit %d %q, want exit %d with %q", strings.Join(args, " "), got, errOut, code, want)
	}
}

const kubeconfig = testdb.Kubeconfig

// shopWithProd starts a server with project shop, its environment prod on cluster k and app
// web, made by the admin signed in from the CLI; it returns the server, a directory for
// config files and the admin's terminal.
func shopWithProd(t *testing.T, engine string) (*testserver.Server, string, *term) {
	t.Helper()
	srv := testserver.Start(t, engine)
	dir := t.TempDir()
	admin := &term{t: t, server: srv.URL, config: filepath.Join(dir, "admin.json")}
	admin.ok(testserver.Password+"\n", "login", "--server", srv.URL, "-u", "admin")
	kc := filepath.Join(dir, "kc.yaml")
	if err := os.WriteFile(kc, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	admin.ok("", "project", "create", "shop")
	admin.ok("", "cluster", "create", "k", "--kubeconfig", kc)
	admin.ok("", "env", "create", "prod", "-p", "shop", "--cluster", "k", "--namespace", "shop")
	admin.ok("", "app", "create", "web", "-p", "shop")
	return srv, dir, admin
}

// people creates users with e-mail addresses, grants each its role on project shop and signs
// each in with a config file in dir; it returns their terminals by name.
func (tm *term) people(dir string, roles map[string]string) map[string]*term {
	tm.t.Helper()
	out := map[string]*term{}
	for name, role := range roles {
		tm.ok(testserver.Password+"\n", "user", "create", name, "--email", name+"@example.com")
		tm.ok("", "access", "grant", role, "project:shop", "--user", name)
		out[name] = &term{t: tm.t, server: tm.server, config: filepath.Join(dir, name+".json")}
		out[name].ok(testserver.Password+"\n", "login", "--server", tm.server, "-u", name)
	}
	return out
}

// TestWalkthrough is the first hour of a new user: log in, build a project with a cluster,
// environments, an app, a pipeline and an artifact; a user without rights is refused; the audit
// trail verifies, and stops verifying once a row is edited behind the server's back.
func TestWalkthrough(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		srv := testserver.Start(t, engine)
		dir := t.TempDir()
		admin := &term{t: t, server: srv.URL, config: filepath.Join(dir, "admin.json")}
		out := admin.ok(testserver.Password+"\n", "login", "--server", srv.URL, "--username", "admin")
		if !strings.Contains(out, "Logged in to "+srv.URL+" as admin") {
			t.Fatalf("login said %q", out)
		}
		if fi, err := os.Stat(admin.config); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("config file: %v %v", fi, err)
		}
		kc := filepath.Join(dir, "kc.yaml")
		if err := os.WriteFile(kc, []byte(kubeconfig), 0o600); err != nil {
			t.Fatal(err)
		}
		admin.ok("", "project", "create", "shop", "--description", "The shop")
		admin.ok("", "cluster", "create", "local", "--kubeconfig", kc)
		for _, e := range []string{"dev", "stage", "prod"} {
			args := []string{"env", "create", e, "-p", "shop", "--cluster", "local", "--namespace", "shop-" + e}
			if e == "prod" {
				args = append(args, "--production")
			}
			admin.ok("", args...)
		}
		admin.ok("replicas: 2\n", "app", "create", "web", "-p", "shop", "--values", "-")
		out = admin.ok("", "pipeline", "set", "-p", "shop", "-a", "web", "--stage", "dev,trigger=auto", "--stage", "stage,after=dev,trigger=auto", "--stage", "prod,after=stage")
		if !strings.Contains(out, "source → dev(auto) → stage(auto) → prod(manual)") {
			t.Fatalf("pipeline set said %q", out)
		}
		digest := "sha256:" + strings.Repeat("ab", 32)
		admin.ok("", "artifact", "push", "registry.example.com/shop/web:1.0@"+digest, "-p", "shop", "-a", "web", "--commit", "abcdef1", "-l", "qa=passed")
		out = admin.ok("", "artifact", "list", "-p", "shop", "-a", "web", "-o", "json")
		var arts []map[string]any
		if err := json.Unmarshal([]byte(out), &arts); err != nil || len(arts) != 1 || arts[0]["digest"] != digest {
			t.Fatalf("artifact list -o json = %s (%v)", out, err)
		}
		// Labels are fixed at push; notes come later and show beside them.
		admin.ok("", "artifact", "note", digest, "-p", "shop", "-a", "web", "--note", "ticket=OPS-1", "--note", "wip=yes")
		admin.ok("", "artifact", "note", digest, "-p", "shop", "-a", "web", "--remove-note", "wip")
		for _, args := range [][]string{{"get", digest}, {"list"}} {
			out = admin.ok("", append(append([]string{"artifact"}, args...), "-p", "shop", "-a", "web")...)
			for _, want := range []string{"LABELS", "NOTES", "qa=passed", "ticket=OPS-1"} {
				if !strings.Contains(out, want) || strings.Contains(out, "wip") {
					t.Fatalf("artifact %s lacks %q (or shows a removed note):\n%s", args[0], want, out)
				}
			}
		}
		admin.fails(2, "--note: is required", "artifact", "note", digest, "-p", "shop", "-a", "web")
		out = admin.ok("", "env", "list", "-p", "shop")
		for _, want := range []string{"NAME", "dev", "shop-stage", "prod", "yes"} {
			if !strings.Contains(out, want) {
				t.Fatalf("env list lacks %q:\n%s", want, out)
			}
		}
		if out := admin.ok("", "cluster", "get", "local", "-o", "json"); strings.Contains(out, "planted-secret") {
			t.Fatal("cluster get shows the kubeconfig")
		}

		// A user without rights is refused with exit 4 and a message that says what is missing.
		admin.ok("bob-password-123\n", "user", "create", "bob")
		admin.ok("", "access", "grant", "viewer", "project:shop", "--user", "bob")
		bob := &term{t: t, server: srv.URL, config: filepath.Join(dir, "bob.json")}
		bob.ok("bob-password-123\n", "login", "--server", srv.URL, "-u", "bob")
		bob.fails(4, "bob may not manage on project shop: needs role admin or super-admin", "app", "create", "api", "-p", "shop")
		bob.fails(4, "push-artifact", "artifact", "push", "registry.example.com/shop/web@sha256:"+strings.Repeat("cd", 32), "-p", "shop", "-a", "web")
		if out := bob.ok("", "app", "list", "-p", "shop"); !strings.Contains(out, "web") {
			t.Fatalf("viewer cannot list apps: %s", out)
		}

		// Exit codes by kind.
		admin.fails(2, "image: \"registry.example.com/shop/web:2.0\" has no digest", "artifact", "push", "registry.example.com/shop/web:2.0", "-p", "shop", "-a", "web")
		admin.fails(2, "--project: is required", "app", "list")
		admin.fails(5, `project "nope" not found`, "project", "get", "nope")
		admin.fails(6, `project "shop" already exists`, "project", "create", "shop")
		admin.fails(2, "--output", "project", "list", "-o", "yaml")
		(&term{t: t, config: filepath.Join(dir, "none.json")}).fails(3, "no server", "project", "list")

		// The audit trail verifies, then catches an edit made behind the server's back.
		if out := admin.ok("", "audit", "verify"); !strings.Contains(out, "Audit trail intact") {
			t.Fatalf("verify said %q", out)
		}
		out = admin.ok("", "audit", "export", "--project", "shop", "--action", "environment.")
		if n := strings.Count(out, "\n"); n != 3 {
			t.Fatalf("export of environment events has %d lines:\n%s", n, out)
		}
		if _, err := srv.DB.Raw().Exec(`UPDATE audit_events SET actor = 'mallory' WHERE action = 'app.create'`); err != nil {
			t.Fatal(err)
		}
		admin.fails(9, "does not match its hash", "audit", "verify")

		admin.ok("", "logout")
		admin.fails(3, "not logged in", "project", "list")
	})
}
