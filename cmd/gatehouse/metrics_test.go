package main_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/internal/testserver"
)

// TestServeMetrics runs the binary with each way of serving metrics: none by default (404 on
// the main listener, and it listens nowhere else), --metrics-listen on an address of their
// own without a token (the main listener still 404s), and a token file, set through the
// environment, beside it (the main listener asks for the token).
func TestServeMetrics(t *testing.T) {
	dir := t.TempDir()
	serve := func(name string, args ...string) (string, *testserver.Proc) {
		addr := testserver.FreeAddr(t)
		p := testserver.StartProcess(t, append([]string{"--listen", addr, "--data-dir", filepath.Join(dir, name)}, args...)...)
		return "http://" + addr, p
	}
	status := func(url, token string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	const token = "a-metrics-token-of-32-characters"

	off, p := serve("off")
	if got := status(off+"/metrics", ""); got != http.StatusNotFound {
		t.Errorf("without metrics settings, /metrics: %d, want 404", got)
	}
	// A bearer token is the API's to check before routing: one it did not issue is refused.
	if got := status(off+"/metrics", token); got != http.StatusUnauthorized {
		t.Errorf("without metrics settings, /metrics with a token: %d, want 401", got)
	}
	if n := listeners(t, p.Cmd.Process.Pid); n != 1 {
		t.Errorf("without metrics settings the server listens on %d sockets, want 1", n)
	}

	metricsAddr := "http://" + testserver.FreeAddr(t)
	main, p := serve("listen", "--metrics-listen", strings.TrimPrefix(metricsAddr, "http://"))
	if got := status(main+"/metrics", ""); got != http.StatusNotFound {
		t.Errorf("with --metrics-listen only, the main listener's /metrics: %d, want 404", got)
	}
	if got := status(main+"/metrics", token); got != http.StatusUnauthorized {
		t.Errorf("with --metrics-listen only, the main listener's /metrics with a token: %d, want 401", got)
	}
	if n := listeners(t, p.Cmd.Process.Pid); n != 2 {
		t.Errorf("with --metrics-listen the server listens on %d sockets, want 2", n)
	}
	m := testserver.Scrape(t, metricsAddr+"/metrics", "")
	if m.Value("gatehouse_http_requests_total", "route", "unmatched", "status", "404") != 1 ||
		m.Value("gatehouse_http_requests_total", "route", "unmatched", "status", "401") != 1 {
		t.Errorf("the main listener's 404 and 401 are not counted: %v", m["gatehouse_http_requests_total"])
	}
	if m["gatehouse_river_jobs"] == nil || m["gatehouse_audit_events_total"] == nil {
		t.Errorf("the store's families are missing: %v", m)
	}

	file := filepath.Join(dir, "metrics.token")
	if err := os.WriteFile(file, []byte("  "+token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GATEHOUSE_METRICS_TOKEN_FILE", file)
	metricsAddr = "http://" + testserver.FreeAddr(t)
	main, _ = serve("both", "--metrics-listen", strings.TrimPrefix(metricsAddr, "http://"))
	for _, c := range []struct {
		url, token string
		want       int
	}{
		{main + "/metrics", "", http.StatusUnauthorized},
		{main + "/metrics", token + "x", http.StatusUnauthorized},
		{main + "/metrics", token, http.StatusOK},
		{metricsAddr + "/metrics", "", http.StatusOK},
		{metricsAddr + "/api/v1/me", "", http.StatusNotFound}, // the metrics listener serves nothing else
	} {
		if got := status(c.url, c.token); got != c.want {
			t.Errorf("GET %s with token %q: %d, want %d", c.url, c.token, got, c.want)
		}
	}
}

// listeners counts the TCP sockets the process listens on: its socket descriptors that
// /proc/net/tcp{,6} list in state LISTEN.
func listeners(t *testing.T, pid int) int {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	mine := map[string]bool{}
	for _, fd := range fds {
		link, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if inode, ok := strings.CutPrefix(link, "socket:["); ok {
			mine[strings.TrimSuffix(inode, "]")] = true
		}
	}
	n := 0
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) > 9 && f[3] == "0A" && mine[f[9]] {
				n++
			}
		}
	}
	return n
}
