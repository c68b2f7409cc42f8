package testserver

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gatehousehq/gatehouse/client"
)

// AdminPassword is the super-admin's password in servers started by StartProcess.
const AdminPassword = "a very long admin password"

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// Binary builds the gatehouse command once per test process and returns its path.
func Binary(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gatehouse-bin")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "gatehouse")
		root, err := repoRoot()
		if err != nil {
			buildErr = err
			return
		}
		cmd := exec.Command("go", "build", "-o", binary, "./cmd/gatehouse")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build gatehouse: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return binary
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "cmd", "gatehouse")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no gatehouse checkout above the working directory")
		}
		dir = parent
	}
}

// FreeAddr returns a loopback address with a free port.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Proc is a `gatehouse serve` process.
type Proc struct {
	Cmd    *exec.Cmd
	Banner []string // the lines it printed before serving
}

// StartProcess runs `gatehouse serve` with args (the super-admin's password is AdminPassword)
// and returns once it says it is serving. The process is killed when the test ends.
func StartProcess(tb testing.TB, args ...string) *Proc {
	tb.Helper()
	return StartProcesses(tb, args)[0]
}

// StartProcesses starts one `gatehouse serve` per argument list, all at once (as replicas
// of one deployment start), and returns them once each says it is serving.
func StartProcesses(tb testing.TB, argLists ...[]string) []*Proc {
	tb.Helper()
	procs := make([]*Proc, len(argLists))
	lines := make([]*bufio.Scanner, len(argLists))
	for i, args := range argLists {
		cmd := exec.Command(Binary(tb), append([]string{"serve"}, args...)...)
		cmd.Env = append(os.Environ(), "GATEHOUSE_ADMIN_PASSWORD="+AdminPassword)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			tb.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		procs[i], lines[i] = &Proc{Cmd: cmd}, bufio.NewScanner(stdout)
	}
	for i, p := range procs {
		if !p.awaitServing(lines[i]) {
			tb.Fatalf("gatehouse serve exited before serving: %q", p.Banner)
		}
	}
	return procs
}

// awaitServing reads the banner up to the serving line, then drains the rest in the
// background; it reports whether the line came.
func (p *Proc) awaitServing(lines *bufio.Scanner) bool {
	for lines.Scan() {
		p.Banner = append(p.Banner, lines.Text())
		if strings.HasPrefix(lines.Text(), "Gatehouse is serving on") {
			go func() {
				for lines.Scan() {
				}
			}()
			return true
		}
	}
	return false
}

// AdminClient signs in as the super-admin of the server at url.
func AdminClient(tb testing.TB, url string) *client.Client {
	tb.Helper()
	return SignIn(tb, url, "admin", AdminPassword)
}

// SignIn signs name in at the server at url for a CLI-style token.
func SignIn(tb testing.TB, url, name, password string) *client.Client {
	tb.Helper()
	s := &Server{URL: url, tb: tb}
	return s.loginAs(name, password)
}

// PeakRSS is the process's peak resident memory in bytes (VmHWM), or 0 when unknown.
func (p *Proc) PeakRSS() int64 { return p.memory("VmHWM:") }

// RSS is the process's resident memory now in bytes (VmRSS), or 0 when unknown.
func (p *Proc) RSS() int64 { return p.memory("VmRSS:") }

// memory reads one of the kernel's memory figures of the process (/proc/PID/status).
func (p *Proc) memory(field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}
