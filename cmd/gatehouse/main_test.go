package main_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/internal/testdb"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gatehouse-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "gatehouse")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build gatehouse: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServer runs `gatehouse serve` with args and the admin password adminPassword, and
// returns once it says it is serving, with the lines it printed.
func startServer(t *testing.T, args ...string) (*exec.Cmd, []string) {
	t.Helper()
	srv := exec.Command(binary, args...)
	srv.Env = append(os.Environ(), "GATEHOUSE_ADMIN_PASSWORD="+adminPassword)
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
	lines := bufio.NewScanner(stdout)
	var banner []string
	for lines.Scan() {
		banner = append(banner, lines.Text())
		if strings.HasPrefix(lines.Text(), "Gatehouse is serving on") {
			go func() {
				for lines.Scan() {
				}
			}()
			return srv, banner
		}
	}
	t.Fatalf("server exited before serving: %q", banner)
	return nil, nil
}

const adminPassword = "a very long admin password"

// TestServeAndCLI runs the binary as a user would: `gatehouse serve` on each engine, the CLI
// logging in and creating a project, then SIGTERM stops the server cleanly.
func TestServeAndCLI(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		dir := t.TempDir()
		addr := freePort(t)
		args := []string{"serve", "--listen", addr, "--data-dir", filepath.Join(dir, "data"), "--log-format", "json"}
		if engine == "postgres" {
			args = append(args, "--database", testdb.DSN(t, engine))
		}
		srv, banner := startServer(t, args...)
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
			cmd := exec.Command(binary, append(args, "--cli-config", filepath.Join(dir, "cli.json"))...)
			cmd.Stdin = strings.NewReader(stdin)
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		if out, err := cli(adminPassword+"\n", "login", "--server", "http://"+addr, "-u", "admin"); err != nil {
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
	}
	for _, c := range cases {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, binary, append([]string{"serve", "--data-dir", dir}, c.args...)...)
		cmd.Env = append(os.Environ(), c.env...)
		out, err := cmd.CombinedOutput()
		cancel()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), c.want) {
			t.Errorf("serve %v %v: %v %s, want exit 2 naming %s", c.env, c.args, err, out, c.want)
		}
	}
}
