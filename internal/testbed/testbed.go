// Package testbed boots a real, local Kubernetes control plane for tests and for
// `gatehouse demo`: etcd, kube-apiserver, kube-controller-manager and kube-scheduler, with kwok
// simulating the nodes and the pods' lifecycle. Nothing is mocked: clients talk to a real API
// server over HTTPS, Deployments and Jobs are driven by the real controllers.
//
// The binaries are built by ./scripts/build-testbed.sh (see BinDir). Pods become Running and
// Ready at once, and pods of Jobs then Succeeded, unless a container image contains a marker:
//
//   - "never-ready": the pod runs but is never Ready;
//   - "unpullable": the pod stays Pending, the container waiting with reason ImagePullBackOff;
//   - "crashloop": the pod runs, the container waiting with reason CrashLoopBackOff and a
//     restartCount of 1;
//   - "job-fails": a pod of a Job ends in phase Failed (exit code 1), so a Job with
//     backoffLimit 0 fails at once;
//   - "held-until-released" (HeldMarker): the pod runs but is not Ready until Release lets
//     it go (pods of Jobs complete as usual).
//
// Each cluster has its own temporary directory, ports and processes, so several can run at
// once; Stop leaves no process behind, and neither does a Start that fails or a program that
// dies (children get SIGKILL when it does).
package testbed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/client-go/rest"
)

// Options configure Start.
type Options struct {
	// Nodes is the number of simulated nodes (default 2). Together they accept at least 300
	// pods, whatever their number.
	Nodes int
	// Out receives one progress line per step of Start ("testbed: etcd up (0.4s)"); nil
	// discards them.
	Out io.Writer
}

// Cluster is a running control plane started by Start. Its methods are safe for concurrent use.
type Cluster struct {
	dir        string
	server     string
	token      string
	caPEM      []byte
	kubeconfig []byte
	procs      []*process // in start order
	ports      []int

	stopOnce sync.Once
	stopErr  error
}

// Start boots a cluster of opt.Nodes simulated nodes in a new temporary directory and returns
// once the API server is ready, the controller manager and the scheduler answer their health
// checks and every node is Ready. ctx bounds the start only; the cluster runs until Stop.
// When Start fails, every process it started has been ended, and the error quotes the log of
// the process that failed; it wraps ErrBinariesMissing when binaries are missing.
func Start(ctx context.Context, opt Options) (*Cluster, error) {
	if opt.Nodes < 0 {
		return nil, fmt.Errorf("testbed: Nodes is %d", opt.Nodes)
	}
	if opt.Nodes == 0 {
		opt.Nodes = 2
	}
	if opt.Out == nil {
		opt.Out = io.Discard
	}
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	// Ports are chosen before the programs bind them; when another program takes one in
	// between, start again with others.
	for attempt := 1; ; attempt++ {
		c, err := start(ctx, bin, opt)
		if err == nil || !errors.Is(err, errPortInUse) || attempt == 3 {
			return c, err
		}
		fmt.Fprintf(opt.Out, "testbed: a port was taken, starting again\n")
	}
}

// start makes one attempt of Start.
func start(ctx context.Context, bin string, opt Options) (_ *Cluster, err error) {
	begin := time.Now()
	dir, err := os.MkdirTemp("", "gatehouse-testbed-")
	if err != nil {
		return nil, fmt.Errorf("testbed: temporary directory: %w", err)
	}
	c := &Cluster{dir: dir}
	defer func() {
		if err != nil {
			if keep() {
				err = fmt.Errorf("%w (files kept in %s)", err, dir)
			}
			_ = c.Stop()
		}
	}()
	if err := c.boot(ctx, bin, opt); err != nil {
		return nil, err
	}
	fmt.Fprintf(opt.Out, "testbed: cluster ready at %s with %s (%.1fs, files in %s)\n",
		c.server, plural(opt.Nodes, "node"), time.Since(begin).Seconds(), c.dir)
	return c, nil
}

// keep reports whether GATEHOUSE_TESTBED_KEEP asks to keep the directories of clusters.
func keep() bool { return os.Getenv("GATEHOUSE_TESTBED_KEEP") == "1" }

// Kubeconfig returns a kubeconfig giving cluster-admin rights (a token of a member of
// system:masters) on the cluster, trusting the API server's certificate.
func (c *Cluster) Kubeconfig() []byte { return append([]byte(nil), c.kubeconfig...) }

// KubeconfigPath returns the path of a file holding Kubeconfig, until Stop.
func (c *Cluster) KubeconfigPath() string { return filepath.Join(c.dir, "kubeconfig") }

// Server returns the URL of the API server, https://127.0.0.1:PORT.
func (c *Cluster) Server() string { return c.server }

// RESTConfig returns a new client configuration for the cluster with the rights of
// Kubeconfig, verifying the server's certificate, and rate limits high enough for tests.
func (c *Cluster) RESTConfig() *rest.Config {
	return &rest.Config{
		Host:            c.server,
		BearerToken:     c.token,
		TLSClientConfig: rest.TLSClientConfig{CAData: append([]byte(nil), c.caPEM...)},
		QPS:             200,
		Burst:           400,
	}
}

// Dir returns the cluster's directory: logs of every process (<name>.log), the kubeconfig and
// the data of etcd. Stop removes it unless GATEHOUSE_TESTBED_KEEP=1.
func (c *Cluster) Dir() string { return c.dir }

// Stop ends the cluster's processes in reverse start order, each with SIGTERM and, 5 seconds
// later if it still runs, SIGKILL, and returns once all have exited. Then it removes Dir unless
// GATEHOUSE_TESTBED_KEEP=1. Calling it again does nothing and returns the same result.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		for i := len(c.procs) - 1; i >= 0; i-- {
			c.procs[i].stop()
		}
		if !keep() {
			if err := os.RemoveAll(c.dir); err != nil {
				c.stopErr = fmt.Errorf("testbed: remove %s: %w", c.dir, err)
			}
		}
	})
	return c.stopErr
}

// PIDs are the process ids of the cluster's programs by name (etcd, kube-apiserver, …), for
// benchmarks that report what each costs.
func (c *Cluster) PIDs() map[string]int {
	out := map[string]int{}
	for _, p := range c.procs {
		out[p.name] = p.PID
	}
	return out
}
