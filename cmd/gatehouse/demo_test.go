package main_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/childproc"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

// TestDemo runs `gatehouse demo` as the README says, signs in as a demo user with the printed
// password, finds version 1.0.0 deployed to dev, and stops it with Ctrl-C (SIGINT), after which
// nothing of it is left running.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	addr := testserver.FreeAddr(t)
	demo := exec.Command(testserver.Binary(t), "demo", "--listen", addr, "--data-dir", filepath.Join(dir, "demo"))
	out, err := demo.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	demo.Stderr = demo.Stdout
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = demo.Process.Kill(); _ = demo.Wait() })
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var text strings.Builder
	deadline := time.After(3 * time.Minute)
	for !strings.Contains(text.String(), "Press Ctrl-C to stop everything.") {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("demo ended early:\n%s", text.String())
			}
			text.WriteString(l + "\n")
		case <-deadline:
			t.Fatalf("demo not up in 3 minutes:\n%s", text.String())
		}
	}
	banner := text.String()
	if !strings.Contains(banner, "Gatehouse demo is running at http://"+addr) || !strings.Contains(banner, "version 1.0.0 is deployed to dev") {
		t.Fatalf("banner:\n%s", banner)
	}
	// The web UI the banner points at serves its sign-in page.
	ui := "http://" + addr + "/ui/"
	if !strings.Contains(banner, "Open "+ui+" in a browser") {
		t.Fatalf("the banner does not point at the web UI:\n%s", banner)
	}
	resp, err := http.Get(ui + "login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `name="login_token"`) {
		t.Fatalf("GET %slogin: %d\n%s", ui, resp.StatusCode, page)
	}
	m := regexp.MustCompile(`(?m)^alice\s+(\S+)\s+deployer`).FindStringSubmatch(banner)
	if m == nil {
		t.Fatalf("no login for alice in:\n%s", banner)
	}
	kubeconfig := regexp.MustCompile(`kubectl --kubeconfig (\S+) `).FindStringSubmatch(banner)
	if kubeconfig == nil {
		t.Fatalf("the banner does not say where the cluster's kubeconfig is:\n%s", banner)
	}
	// The cluster's programs run in its directory, the kubeconfig's.
	clusterDir := filepath.Dir(kubeconfig[1])
	running := childproc.In(clusterDir)
	for _, name := range []string{"etcd", "kube-apiserver", "kube-controller", "kube-scheduler", "kwok"} {
		if !slices.Contains(slices.Collect(maps.Values(running)), name) {
			t.Fatalf("no %s runs in the demo's cluster directory %s (found %v): the check below would see nothing", name, clusterDir, running)
		}
	}
	cfg := filepath.Join(dir, "cli.json")
	run := func(stdin string, args ...string) string {
		cmd := exec.Command(testserver.Binary(t), append(args, "--cli-config", cfg)...)
		cmd.Stdin = strings.NewReader(stdin)
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("gatehouse %v: %v\n%s", args, err, b)
		}
		return string(b)
	}
	run(m[1]+"\n", "login", "--server", "http://"+addr, "-u", "alice")
	hist := run("", "history", "-p", "shop", "-a", "shop", "-o", "json")
	if !strings.Contains(hist, `"environment": "dev"`) || !strings.Contains(hist, `"state": "succeeded"`) {
		t.Fatalf("history:\n%s", hist)
	}
	// The seeded history gives production figures: deployments, failures, their restores.
	var dora gatehouse.DORAReport
	if err := json.Unmarshal([]byte(run("", "metrics", "dora", "-p", "shop", "-o", "json")), &dora); err != nil {
		t.Fatal(err)
	}
	if dora.Frequency.Deployments < 20 || dora.Failures.Failed == 0 || dora.Restore.Stat.Count == 0 || dora.LeadTime.Stat.Count == 0 {
		t.Fatalf("the demo's metrics say too little: %+v %+v %+v %+v", dora.Frequency, dora.Failures, dora.Restore, dora.LeadTime)
	}
	if table := run("", "metrics", "leadtime", "-p", "shop"); !strings.Contains(table, "requested → approved") || !strings.Contains(table, "bob") {
		t.Fatalf("metrics leadtime:\n%s", table)
	}
	if err := demo.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for range lines {
		}
		done <- demo.Wait()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo exit after Ctrl-C: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not stop within 30s of Ctrl-C")
	}
	// Stopping waited for every process of the cluster: none may be left, whoever adopted it.
	if left := childproc.In(clusterDir); len(left) > 0 {
		for pid := range left {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		t.Errorf("processes of the demo's cluster outlived it: %v", left)
	}
	if _, err := os.Stat(clusterDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the demo left its cluster directory %s (%v)", clusterDir, err)
	}
}
