package childproc_test

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/internal/childproc"
)

// TestIn finds a program that runs in a directory, and one that names a path in it, and
// nothing of them once they are stopped.
func TestIn(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	dir, other := t.TempDir(), t.TempDir()
	inDir, err := childproc.Start(dir, filepath.Join(dir, "a.log"), sleep, []string{"600"})
	if err != nil {
		t.Fatal(err)
	}
	naming, err := childproc.Start(other, filepath.Join(other, "b.log"), "/bin/sh", []string{"-c", "sleep 600; :", "--data-dir=" + filepath.Join(dir, "data")})
	if err != nil {
		inDir.Stop(time.Second)
		t.Fatal(err)
	}
	found := childproc.In(dir)
	if found[inDir.PID] != "sleep" || found[naming.PID] != "sh" {
		t.Errorf("In(%s) = %v, want pid %d (sleep) and %d (sh)", dir, found, inDir.PID, naming.PID)
	}
	if got := childproc.In(other + "-not"); len(got) != 0 {
		t.Errorf("In of a directory nothing runs in = %v", got)
	}
	inDir.Stop(time.Second)
	naming.Stop(time.Second)
	if got := childproc.In(dir); len(got) != 0 {
		t.Errorf("after Stop, In(%s) = %v", dir, got)
	}
	if childproc.Alive(inDir.PID) {
		t.Errorf("pid %d alive after Stop", inDir.PID)
	}
}
