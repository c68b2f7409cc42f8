package childproc

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Alive reports whether pid is a process that has not exited (a zombie has exited).
func Alive(pid int) bool {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	// pid (comm) state ...: comm may hold spaces and parentheses, the state follows the last ')'.
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

// In returns the live processes that run in dir or name it — whose working directory is dir or
// below it, or one of whose arguments is a path in it — by pid, with their command names (as
// the kernel keeps them, cut to 15 bytes). It finds what programs started for a directory,
// such as a testbed cluster's, left running, whoever their parent is now.
func In(dir string) map[int]string {
	dir = filepath.Clean(dir)
	inside := func(p string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }
	out := map[int]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !Alive(pid) {
			continue
		}
		proc := filepath.Join("/proc", e.Name())
		cwd, _ := os.Readlink(filepath.Join(proc, "cwd"))
		found := inside(cwd)
		cmdline, _ := os.ReadFile(filepath.Join(proc, "cmdline"))
		for _, arg := range strings.Split(string(cmdline), "\x00") {
			_, value, _ := strings.Cut(arg, "=") // --data-dir=DIR/etcd
			found = found || inside(arg) || inside(value)
		}
		if found {
			comm, _ := os.ReadFile(filepath.Join(proc, "comm"))
			out[pid] = strings.TrimSpace(string(comm))
		}
	}
	return out
}
