package testbed

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// stepTimeout bounds each step of a start, on top of the caller's context: a program that is
// not ready by then will not be.
const stepTimeout = 2 * time.Minute

// boot starts the processes of c, in order, and waits for each to be ready.
func (c *Cluster) boot(ctx context.Context, bin string, opt Options) error {
	ports, err := freePorts(5)
	if err != nil {
		return err
	}
	c.ports = ports
	etcdClient, etcdPeer, apiPort, kcmPort, schedPort := ports[0], ports[1], ports[2], ports[3], ports[4]
	c.server = "https://" + hostPort(apiPort)
	path := func(name string) string { return filepath.Join(c.dir, name) }
	run := func(name string, args ...string) (*process, error) {
		p, err := startProcess(c.dir, name, filepath.Join(bin, name), args)
		if err != nil {
			return nil, err
		}
		c.procs = append(c.procs, p)
		return p, nil
	}
	step := time.Now()
	progress := func(format string, args ...any) {
		fmt.Fprintf(opt.Out, "testbed: "+format+" (%.1fs)\n", append(args, time.Since(step).Seconds())...)
		step = time.Now()
	}

	// etcd
	etcdURL := "http://" + hostPort(etcdClient)
	peerURL := "http://" + hostPort(etcdPeer)
	etcd, err := run("etcd",
		"--name=testbed",
		"--data-dir="+path("etcd"),
		"--listen-client-urls="+etcdURL,
		"--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=testbed="+peerURL,
		"--unsafe-no-fsync",
		// A single member elects itself after one election timeout: keep it short.
		"--heartbeat-interval=20",
		"--election-timeout=100",
		"--log-level=warn",
	)
	if err != nil {
		return err
	}
	if err := waitHealthy(ctx, etcd, etcdURL+"/health", ""); err != nil {
		return err
	}
	progress("etcd up")

	// kube-apiserver
	if err := writeServiceAccountKey(path("sa.key")); err != nil {
		return err
	}
	if c.token, err = writeTokenFile(path("tokens.csv")); err != nil {
		return err
	}
	apiserver, err := run("kube-apiserver",
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(apiPort),
		"--cert-dir="+path("pki"),
		"--endpoint-reconciler-type=none",
		"--token-auth-file="+path("tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+path("sa.key"),
		"--service-account-signing-key-file="+path("sa.key"),
		"--service-cluster-ip-range=10.96.0.0/16",
		"--disable-admission-plugins=ServiceAccount",
		"--allow-privileged=true",
		"--profiling=false",
	)
	if err != nil {
		return err
	}
	if err := waitHealthy(ctx, apiserver, c.server+"/readyz", c.token); err != nil {
		return err
	}
	// The API server made its serving certificate and the CA that signed it.
	bundle, err := os.ReadFile(path("pki/apiserver.crt"))
	if err != nil {
		return fmt.Errorf("testbed: the API server's certificate: %w", err)
	}
	if c.caPEM, err = caCertificates(bundle); err != nil {
		return err
	}
	if err := os.WriteFile(path("pki/ca.crt"), c.caPEM, 0o644); err != nil {
		return fmt.Errorf("testbed: write CA: %w", err)
	}
	c.kubeconfig = kubeconfig(c.server, c.caPEM, c.token)
	if err := os.WriteFile(c.KubeconfigPath(), c.kubeconfig, 0o600); err != nil {
		return fmt.Errorf("testbed: write kubeconfig: %w", err)
	}
	progress("kube-apiserver ready at %s", c.server)

	// The controller manager, the scheduler and kwok start together.
	kubeconfigFlags := []string{
		"--kubeconfig=" + c.KubeconfigPath(),
		"--authentication-kubeconfig=" + c.KubeconfigPath(),
		"--authorization-kubeconfig=" + c.KubeconfigPath(),
		"--bind-address=127.0.0.1",
		"--leader-elect=false",
		// A real cluster spreads this work over many machines; one small machine running a
		// hundred rollouts at once must not be held back by client-side rate limits.
		"--kube-api-qps=1000",
		"--kube-api-burst=2000",
		"--profiling=false",
	}
	kcm, err := run("kube-controller-manager", append(kubeconfigFlags,
		"--secure-port="+strconv.Itoa(kcmPort),
		"--controllers=*,-node-ipam-controller",
		// kwok's simulated nodes renew their leases from this machine's CPU; when a thousand
		// rollouts starve it, a late renewal must not mark a node NotReady, which marks its pods
		// unready for good (kwok does not set a Running pod's Ready again).
		"--node-monitor-grace-period=10m",
		"--concurrent-deployment-syncs=50",
		"--concurrent-replicaset-syncs=50",
		"--use-service-account-credentials=false",
		"--service-account-private-key-file="+path("sa.key"),
		"--root-ca-file="+path("pki/ca.crt"),
	)...)
	if err != nil {
		return err
	}
	scheduler, err := run("kube-scheduler", append(kubeconfigFlags,
		"--secure-port="+strconv.Itoa(schedPort),
	)...)
	if err != nil {
		return err
	}
	stages, err := writeStages(c.dir)
	if err != nil {
		return err
	}
	kwok, err := run("kwok",
		"--kubeconfig="+c.KubeconfigPath(),
		"--config="+stages,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector="+nodeAnnotation+"="+nodeAnnotationValue,
		"--cidr=10.244.0.0/16",
		"--node-ip=10.240.0.1",
	)
	if err != nil {
		return err
	}
	if err := waitHealthy(ctx, kcm, "https://"+hostPort(kcmPort)+"/healthz", ""); err != nil {
		return err
	}
	progress("kube-controller-manager up")
	if err := waitHealthy(ctx, scheduler, "https://"+hostPort(schedPort)+"/healthz", ""); err != nil {
		return err
	}
	progress("kube-scheduler up")
	if err := c.addNodes(ctx, kwok, opt.Nodes); err != nil {
		return err
	}
	progress("kwok up, %s Ready", plural(opt.Nodes, "node"))
	return nil
}

// insecureClient checks health endpoints before the cluster's CA is known; it sends nothing
// secret but the token to a server of our own on 127.0.0.1.
var insecureClient = &http.Client{
	Timeout:   2 * time.Second,
	Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // self-signed, loopback
}

// waitHealthy polls url until it answers 200, the process exits or the step times out.
func waitHealthy(ctx context.Context, p *process, url, token string) error {
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("testbed: %w", err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := insecureClient.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s: %s: %s", url, resp.Status, body)
		}
		last = err
		select {
		case <-p.Done():
			return p.exitError()
		case <-ctx.Done():
			return p.failure(fmt.Errorf("not healthy: %w (last answer: %w)", ctx.Err(), last))
		case <-tick.C:
		}
	}
}

// plural returns "1 node", "2 nodes".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
