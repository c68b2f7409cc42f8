package testbed

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/internal/childproc"
)

// orphanEnv makes the test binary a program that starts a cluster, prints it and waits to be
// killed (see TestChildrenDieWithTheProgram).
const orphanEnv = "GATEHOUSE_TESTBED_ORPHAN_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(orphanEnv) == "1" {
		orphanHelper()
	}
	os.Exit(m.Run())
}

// started is what the orphan helper prints of its cluster.
type started struct {
	Dir  string `json:"dir"`
	PIDs []int  `json:"pids"`
}

func orphanHelper() {
	c, err := Start(context.Background(), Options{Nodes: 1, Out: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s := started{Dir: c.Dir()}
	for _, p := range c.procs {
		s.PIDs = append(s.PIDs, p.PID)
	}
	_ = json.NewEncoder(os.Stdout).Encode(s)
	time.Sleep(time.Hour) // until killed
	os.Exit(1)
}

// TestChildrenDieWithTheProgram kills a program running a cluster with SIGKILL, so that it
// cannot stop it: the cluster's processes must die with it.
func TestChildrenDieWithTheProgram(t *testing.T) {
	if _, err := BinDir(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), orphanEnv+"=1")
	cmd.Stderr = t.Output()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var s started
	scanner := bufio.NewScanner(out)
	if !scanner.Scan() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("the helper printed no cluster: %v", scanner.Err())
	}
	if err := json.Unmarshal(scanner.Bytes(), &s); err != nil || len(s.PIDs) != len(binaries) {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("helper output %q: %v", scanner.Text(), err)
	}
	t.Cleanup(func() { os.RemoveAll(s.Dir) }) // the killed helper could not remove it
	for _, pid := range s.PIDs {
		if !childproc.Alive(pid) {
			t.Fatalf("pid %d is not running before the helper is killed", pid)
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range s.PIDs {
		for childproc.Alive(pid) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond) // a dying process sends no event to wait on
		}
		if childproc.Alive(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Errorf("pid %d outlived the program that started it", pid)
		}
	}
}

// TestFailedStartLeavesNothing starts a cluster whose kwok fails after the control plane is up:
// Start must quote kwok's log and end every process it started.
func TestFailedStartLeavesNothing(t *testing.T) {
	realBin, err := BinDir()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	for _, name := range binaries {
		if name == "kwok" {
			script := "#!/bin/sh\necho 'kwok: simulated failure' >&2\nexit 3\n"
			if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.Symlink(filepath.Join(realBin, name), filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("GATEHOUSE_TESTBED_BIN", bin)
	t.Setenv("GATEHOUSE_TESTBED_KEEP", "")

	c, err := Start(t.Context(), Options{Nodes: 1, Out: t.Output()})
	if err == nil {
		_ = c.Stop()
		t.Fatal("Start succeeded with a failing kwok")
	}
	t.Logf("Start failed as it should: %v", err)
	if !strings.Contains(err.Error(), "kwok: simulated failure") || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("the error does not quote kwok's exit and log: %v", err)
	}
	if children := childrenOf(os.Getpid()); len(children) > 0 {
		t.Errorf("processes left after the failed start: %v", children)
	}
	if m := regexp.MustCompile(`(/\S+/gatehouse-testbed-\d+)/kwok\.log`).FindStringSubmatch(err.Error()); m == nil {
		t.Errorf("the error names no log file: %v", err)
	} else if _, err := os.Stat(m[1]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("directory %s after the failed start: %v, want it removed", m[1], err)
	}
}

// childrenOf returns the live processes whose parent is pid.
func childrenOf(pid int) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil || !childproc.Alive(child) {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			out = append(out, fmt.Sprintf("%d %s", child, strings.Fields(string(data))[1]))
		}
	}
	return out
}
