// Package childproc runs the helper programs of tests and the demo (cluster components, a mail
// server) so that none outlives the program that started it.
package childproc

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

// Process is a running child program.
type Process struct {
	PID  int
	done chan struct{} // closed when the process has exited and has been reaped
	err  error         // how it exited; set before done is closed
}

// Start starts bin with args in dir, its output appended to logPath. The process gets its own
// process group, so Stop reaches everything it may spawn, and SIGKILL when the thread that
// started it ends: the starting goroutine stays locked to its OS thread until the process
// exits, so the signal comes only when this program dies.
func Start(dir, logPath, bin string, args []string) (*Process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("log of %s: %w", bin, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &Process{done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer logFile.Close()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		p.PID = cmd.Process.Pid
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	return p, nil
}

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err says how the process exited; it is set once Done is closed.
func (p *Process) Err() error { return p.err }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop ends the process group: SIGTERM, then SIGKILL if the process has not exited after
// grace. It returns once the process has exited, and reports whether SIGKILL was needed.
func (p *Process) Stop(grace time.Duration) (killed bool) {
	if p.Exited() {
		return false
	}
	_ = syscall.Kill(-p.PID, syscall.SIGTERM)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
		// The leader is gone; anything left in its group goes too.
		_ = syscall.Kill(-p.PID, syscall.SIGKILL)
		return false
	case <-timer.C:
	}
	_ = syscall.Kill(-p.PID, syscall.SIGKILL)
	<-p.done
	return true
}
