package main_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

// TestServeAndCLI runs the binary as a user would: `gatehouse serve` on each engine, the CLI
// logging in and creating a project, then SIGTERM stops the server cleanly.
func TestServeAndCLI(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		dir := t.TempDir()
		addr := testserver.FreeAddr(t)
		args := []string{"serve", "--listen", addr, "--data-dir", filepath.Join(dir, "data"), "--log-format", "json"}
		if engine == "postgres" {
			args = append(args, "--database", testdb.DSN(t, engine))
		}
		p := testserver.StartProcess(t, args[1:]...)
		srv, banner := p.Cmd, p.Banner
		if len(banner) != 2 || !strings.Contains(banner[0], `Created the first user "admin"`) || !strings.Contains(banner[1], "http://"+addr+" ("+engine+" database)") {
			t.Fatalf("banner = %q", banner)
		}
		if engine == "sqlite" {
			for _, f := range []string{"gatehouse.db", "secret.key", "audit.key"} {
				fi, err := os.Stat(filepath.Join(dir, "data", f))
				if err != nil {
					t.Fatalf("data dir lacks %s: %v", f, err)
				}
				if f != "gatehouse.db" && fi.Mode().Perm() != 0o600 {
					t.Fatalf("%s mode %v", f, fi.Mode())
				}
			}
		}
		cli := func(stdin string, args ...string) (string, error) {
			cmd := exec.Command(testserver.Binary(t), append(args, "--cli-config", filepath.Join(dir, "cli.json"))...)
			cmd.Stdin = strings.NewReader(stdin)
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		if out, err := cli(testserver.AdminPassword+"\n", "login", "--server", "http://"+addr, "-u", "admin"); err != nil {
			t.Fatalf("login: %v %s", err, out)
		}
		if out, err := cli("", "project", "create", "shop"); err != nil || !strings.Contains(out, "shop") {
			t.Fatalf("project create: %v %s", err, out)
		}
		out, err := cli("", "project", "get", "nope")
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 5 || !strings.Contains(out, "not found") {
			t.Fatalf("project get nope: %v %s", err, out)
		}
		if resp, err := http.Get("http://" + addr + "/readyz"); err != nil || resp.StatusCode != 200 {
			t.Fatalf("readyz: %v %v", resp, err)
		}
		if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- srv.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("server exit after SIGTERM: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("server did not stop within 15s of SIGTERM")
		}
	})
}

// TestServeRefusesBadSettings checks settings errors name the setting, before anything starts.
func TestServeRefusesBadSettings(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gatehouse.yaml")
	if err := os.WriteFile(cfg, []byte("listen: 127.0.0.1:0\ncolour: red\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	shortToken := filepath.Join(dir, "short.token")
	if err := os.WriteFile(shortToken, []byte("  too-short \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"--log-format", "xml"}, "--log-format"},
		{[]string{"GATEHOUSE_SESSION_TTL=soon"}, nil, "GATEHOUSE_SESSION_TTL"},
		{nil, []string{"--trusted-proxy", "10.0.0.0/33"}, "--trusted-proxy"},
		{nil, []string{"--tls-cert", "x.pem"}, "--tls-cert and --tls-key go together"},
		{nil, []string{"--config", cfg}, `"colour" is not a setting`},
		{nil, []string{"--listen", "127.0.0.1:0", "--sso-issuer", "http://id.example.com"}, "--sso-issuer"},
		{nil, []string{"--listen", "127.0.0.1:0", "--sso-issuer", "https://id.example.com"}, "--sso-client-id"},
		{nil, []string{"--listen", "127.0.0.1:0", "--sso-issuer", "https://id.example.com", "--sso-client-id", "g"}, "--sso-client-secret-file"},
		{[]string{"GATEHOUSE_SSO_CLIENT_SECRET=s"}, []string{"--listen", "127.0.0.1:0", "--sso-issuer", "https://id.example.com", "--sso-client-id", "g",
			"--sso-email-domain", "@bank.example"}, "--sso-email-domain"},
		{nil, []string{"--metrics-token-file", filepath.Join(dir, "missing.token")}, "--metrics-token-file"},
		{[]string{"GATEHOUSE_METRICS_TOKEN_FILE=" + shortToken}, nil, "--metrics-token-file"},
		{nil, []string{"--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:http-nope"}, "--metrics-listen"},
		{nil, []string{"--listen", "127.0.0.1:0", "--pprof"}, "--pprof"},
	}
	for _, c := range cases {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, testserver.Binary(t), append([]string{"serve", "--data-dir", dir}, c.args...)...)
		cmd.Env = append(os.Environ(), c.env...)
		out, err := cmd.CombinedOutput()
		cancel()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), c.want) {
			t.Errorf("serve %v %v: %v %s, want exit 2 naming %s", c.env, c.args, err, out, c.want)
		}
	}
}
