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
// own without a token (the main listener still 404s to requests without credentials), and a
// token file, set through the environment, beside it (the main listener asks for the token).
func TestServeMetrics(t *testing.T) {
	dir := t.TempDir()
	serve := func(name string, args ...string) (string, *testserver.Proc) {
		addr := testserver.FreeAddr(t)
		p := testserver.StartProcess(t, append([]string{"--listen", addr, "--data-dir", filepath.Join(dir, name)}, args...)...)
		return "http://" + addr, p
	}
	const token = "a-metrics-token-of-32-characters"
	type check struct {
		url, token string
		want       int
	}
	expect := func(setting string, listening int, p *testserver.Proc, checks ...check) {
		t.Helper()
		for _, c := range checks {
			req, _ := http.NewRequest(http.MethodGet, c.url, nil)
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s: GET %s: %v", setting, c.url, err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Errorf("%s: GET %s with token %q: %d, want %d", setting, c.url, c.token, resp.StatusCode, c.want)
			}
		}
		if n := listeners(t, p.Cmd.Process.Pid); n != listening {
			t.Errorf("%s: the server listens on %d sockets, want %d", setting, n, listening)
		}
	}

	// A bearer token is the API's to check before routing: one it did not issue is refused.
	off, p := serve("off")
	expect("no metrics settings", 1, p, check{off + "/metrics", "", http.StatusNotFound}, check{off + "/metrics", token, http.StatusUnauthorized})

	metricsAddr := "http://" + testserver.FreeAddr(t)
	main, p := serve("listen", "--metrics-listen", strings.TrimPrefix(metricsAddr, "http://"))
	expect("--metrics-listen", 2, p, check{main + "/metrics", "", http.StatusNotFound}, check{main + "/metrics", token, http.StatusUnauthorized})
	m := testserver.Scrape(t, metricsAddr+"/metrics", "")
	if m.Value("gatehouse_http_requests_total", "route", "unmatched", "status", "404") != 1 ||
		m.Value("gatehouse_http_requests_total", "route", "unmatched", "status", "401") != 1 {
		t.Errorf("the main listener's 404 and 401 are not counted: %v", m["gatehouse_http_requests_total"])
	}
	if m["gatehouse_river_jobs"] == nil || m["gatehouse_audit_events_total"] == nil {
		t.Errorf("the store's families are missing: %v", m)
	}
	pprofStatus := func(base string) int {
		t.Helper()
		resp, err := http.Get(base + "/debug/pprof/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := pprofStatus(metricsAddr); st != http.StatusNotFound {
		t.Errorf("profiles without --pprof: %d, want 404", st)
	}
	pprofAddr := "http://" + testserver.FreeAddr(t)
	pmain, _ := serve("pprof", "--metrics-listen", strings.TrimPrefix(pprofAddr, "http://"), "--pprof")
	if st := pprofStatus(pprofAddr); st != http.StatusOK {
		t.Errorf("profiles with --pprof on the metrics' listener: %d, want 200", st)
	}
	if st := pprofStatus(pmain); st == http.StatusOK {
		t.Errorf("profiles on the main listener: %d, want them refused", st)
	}

	file := filepath.Join(dir, "metrics.token")
	if err := os.WriteFile(file, []byte("  "+token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GATEHOUSE_METRICS_TOKEN_FILE", file)
	metricsAddr = "http://" + testserver.FreeAddr(t)
	main, p = serve("both", "--metrics-listen", strings.TrimPrefix(metricsAddr, "http://"))
	expect("both", 2, p,
		check{main + "/metrics", "", http.StatusUnauthorized},
		check{main + "/metrics", token + "x", http.StatusUnauthorized},
		check{main + "/metrics", token, http.StatusOK},
		check{metricsAddr + "/metrics", "", http.StatusOK},
		check{metricsAddr + "/api/v1/me", "", http.StatusNotFound}) // the metrics listener serves nothing else
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
