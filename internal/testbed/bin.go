package testbed

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// BuildCommand builds the binaries a cluster runs; errors about missing binaries name it.
const BuildCommand = "./scripts/build-testbed.sh"

// ErrBinariesMissing is wrapped by the errors of BinDir and Start when a binary of the testbed
// cannot be found; their message tells to run BuildCommand.
var ErrBinariesMissing = errors.New("testbed binaries missing")

// binaries are the programs a cluster runs, all found in BinDir.
var binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}

// BinDir returns the directory holding the testbed's binaries: $GATEHOUSE_TESTBED_BIN if set,
// else the bin directory of the repository around the working directory (the nearest directory
// above it holding tools/kube/go.mod). It returns an error wrapping ErrBinariesMissing, which
// says to run ./scripts/build-testbed.sh, unless every binary is there and executable.
func BinDir() (string, error) {
	dir := os.Getenv("GATEHOUSE_TESTBED_BIN")
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(root, "bin")
	}
	// Processes run in the cluster's directory: a relative path would not reach them there.
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("testbed: %w", err)
	}
	var missing []string
	for _, name := range binaries {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil || info.IsDir() || info.Mode().Perm()&0o111 == 0 {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("%w in %s (%s): run %s", ErrBinariesMissing, dir, strings.Join(missing, ", "), BuildCommand)
	}
	return dir, nil
}

// repoRoot walks up from the working directory to the directory holding tools/kube/go.mod.
func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("testbed: working directory: %w", err)
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "tools", "kube", "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w: no repository (a directory holding tools/kube/go.mod) above %s; set GATEHOUSE_TESTBED_BIN or run %s in a checkout", ErrBinariesMissing, wd, BuildCommand)
		}
		dir = parent
	}
}
