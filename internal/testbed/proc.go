package testbed

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse/internal/childproc"
)

// stopGrace is how long a process may take to exit after SIGTERM before it gets SIGKILL.
const stopGrace = 5 * time.Second

// process is a child program of a cluster, its output going to <cluster dir>/<name>.log.
type process struct {
	*childproc.Process
	name    string
	logPath string
}

// startProcess starts bin with args (see childproc.Start: no child outlives this program).
func startProcess(dir, name, bin string, args []string) (*process, error) {
	logPath := filepath.Join(dir, name+".log")
	cp, err := childproc.Start(dir, logPath, bin, args)
	if err != nil {
		return nil, fmt.Errorf("testbed: %s: %w", name, err)
	}
	return &process{Process: cp, name: name, logPath: logPath}, nil
}

// stop ends the process group, waiting at most stopGrace before SIGKILL.
func (p *process) stop() (killed bool) { return p.Stop(stopGrace) }

// exitError is the error of a process that ended while the cluster needed it, with the tail
// of its log.
func (p *process) exitError() error {
	how := "exit status 0"
	if err := p.Err(); err != nil {
		how = err.Error()
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
