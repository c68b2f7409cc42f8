package testbed

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// stopGrace is how long a process may take to exit after SIGTERM before it gets SIGKILL.
const stopGrace = 5 * time.Second

// process is a child program of a cluster, running in its own process group, its output
// going to <cluster dir>/<name>.log.
type process struct {
	name    string
	logPath string
	pid     int
	done    chan struct{} // closed when the process has exited and has been reaped
	waitErr error         // how it exited; set before done is closed
}

// startProcess starts bin with args. The process gets its own process group, so stop reaches
// everything it may spawn, and SIGKILL when the thread that started it ends: the starting
// goroutine stays locked to its OS thread until the process exits, so the signal comes only
// when this program dies, and no child outlives it.
func startProcess(dir, name, bin string, args []string) (*process, error) {
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("testbed: %s log: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &process{name: name, logPath: logPath, done: make(chan struct{})}

	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer logFile.Close()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		p.pid = cmd.Process.Pid
		started <- nil
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("testbed: start %s: %w", name, err)
	}
	return p, nil
}

// exited reports whether the process has exited.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop ends the process group: SIGTERM, then SIGKILL if the process has not exited after
// stopGrace. It returns once the process has exited. It reports whether SIGKILL was needed.
func (p *process) stop() (killed bool) {
	if p.exited() {
		return false
	}
	_ = syscall.Kill(-p.pid, syscall.SIGTERM)
	timer := time.NewTimer(stopGrace)
	defer timer.Stop()
	select {
	case <-p.done:
		// The leader is gone; anything left in its group goes too.
		_ = syscall.Kill(-p.pid, syscall.SIGKILL)
		return false
	case <-timer.C:
	}
	_ = syscall.Kill(-p.pid, syscall.SIGKILL)
	<-p.done
	return true
}

// exitError is the error of a process that ended while the cluster needed it, with the tail
// of its log.
func (p *process) exitError() error {
	how := "exit status 0"
	if p.waitErr != nil {
		how = p.waitErr.Error()
	}
	return p.failure(fmt.Errorf("exited (%s)", how))
}

// failure wraps err with the tail of the process's log, and with errPortInUse when the log
// says a port was taken.
func (p *process) failure(err error) error {
	tail := p.tail()
	if strings.Contains(tail, "address already in use") {
		return fmt.Errorf("testbed: %s: %w: %w; end of %s:\n%s", p.name, errPortInUse, err, p.logPath, tail)
	}
	return fmt.Errorf("testbed: %s: %w; end of %s:\n%s", p.name, err, p.logPath, tail)
}

// errPortInUse marks a start that failed because another program took a port chosen for the
// cluster; Start retries it with other ports.
var errPortInUse = errors.New("port taken by another program")

// tailBytes and tailLines bound what errors quote of a log.
const (
	tailBytes = 8 << 10
	tailLines = 25
)

// tail returns the last lines of the process's log.
func (p *process) tail() string {
	f, err := os.Open(p.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.Size() > tailBytes {
		_, _ = f.Seek(info.Size()-tailBytes, io.SeekStart)
	}
	data, _ := io.ReadAll(f)
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > tailLines {
		lines = lines[len(lines)-tailLines:]
	}
	return "  " + string(bytes.Join(lines, []byte("\n  ")))
}
