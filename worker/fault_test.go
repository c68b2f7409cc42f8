package worker_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/faultproxy"
	"github.com/gatehousehq/gatehouse/internal/testbed"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// behind registers cluster name as testbed cluster c reached through a fault proxy, and
// returns the proxy.
func (h *harness) behind(name string, c *testbed.Cluster) *faultproxy.Proxy {
	h.t.Helper()
	cfg, err := clientcmd.Load(c.Kubeconfig())
	h.must(err)
	var target string
	for _, cl := range cfg.Clusters {
		u, err := url.Parse(cl.Server)
		h.must(err)
		if target == "" {
			target = u.Host
		}
	}
	p, err := faultproxy.Start(target)
	h.must(err)
	h.t.Cleanup(p.Close)
	for _, cl := range cfg.Clusters {
		cl.Server = "https://" + p.Addr()
	}
	kc, err := clientcmd.Write(*cfg)
	h.must(err)
	_, err = sqlstore.NewClusterService(h.db).CreateCluster(h.ctx, gatehouse.ClusterCreate{Name: name, Kubeconfig: gatehouse.NewSecret(string(kc))})
	h.must(err)
	return p
}

// faultyEnv is an environment on cluster c, reached through a fault proxy, with app web whose
// stage times out after timeout.
func (h *harness) faultyEnv(c *testbed.Cluster, timeout string) (*faultproxy.Proxy, string) {
	h.t.Helper()
	p := h.behind("cf", c)
	ns := "faulty-" + h.suffix
	_, err := h.envs.CreateEnvironment(h.ctx, "p", gatehouse.EnvironmentCreate{Name: "faulty", Cluster: "cf", Namespace: ns})
	h.must(err)
	h.app("web", "replicas: 2\n", gatehouse.Hooks{}, gatehouse.Stage{Environment: "faulty", Timeout: timeout})
	return p, ns
}

// until polls the deployment until ok, failing if it ends first or within passes.
func (h *harness) until(what string, id int64, within time.Duration, ok func(*gatehouse.Deployment) bool) {
	h.t.Helper()
	for deadline := time.Now().Add(within); ; sleep() {
		d, err := h.deps.Deployment(h.ctx, "p", "web", id)
		h.must(err)
		if ok(d) {
			return
		}
		if d.State.Terminal() || time.Now().After(deadline) {
			h.t.Fatalf("deployment %d never %s: %s (%s)\n%s", id, what, d.State, d.Cause, events(d))
		}
	}
}

func verifying(d *gatehouse.Deployment) bool { return d.State == gatehouse.StateVerifying }

// release lets the held pods of namespace ns on cluster c become ready, once there are n.
func (h *harness) release(c *testbed.Cluster, ns string, n int) {
	h.t.Helper()
	for got, deadline := 0, time.Now().Add(time.Minute); got < n; sleep() {
		var err error
		if got, err = c.Release(h.ctx, ns); err != nil || got < n && time.Now().After(deadline) {
			h.t.Fatalf("release held pods in %s: %d of %d, %v", ns, got, n, err)
		}
	}
}

// TestFaultsBetweenWorkerAndCluster runs deployments through a proxy that delays, resets,
// blackholes and cuts the connections to the API server. Each deployment ends correctly:
// it resumes or retries and succeeds once the network is back, never stuck in between. The
// cluster is one of its own: the package's shared ones are registered directly, and one
// cluster is registered once.
func TestFaultsBetweenWorkerAndCluster(t *testing.T) {
	c := testbed.StartT(t, testbed.Options{Nodes: 1})
	t.Run("latency", func(t *testing.T) {
		h := newHarness(t, "sqlite")
		p, _ := h.faultyEnv(c, "60s")
		p.SetLatency(40 * time.Millisecond)
		d := h.wait("web", h.deploy("web", "faulty", h.push("web", "")).ID)
		if d.State != gatehouse.StateSucceeded {
			t.Fatalf("with 40ms each way the deployment %s (%s)\n%s", d.State, d.Cause, events(d))
		}
	})
	t.Run("resets cut the watch", func(t *testing.T) {
		h := newHarness(t, "sqlite")
		p, ns := h.faultyEnv(c, "60s")
		d := h.deploy("web", "faulty", h.push("web", testbed.HeldMarker))
		h.until("verified", d.ID, time.Minute, verifying)
		// Every connection cut, over and over, while the rollout is watched.
		for range 5 {
			p.ResetAll()
			sleep()
		}
		h.release(c, ns, 2)
		end := h.wait("web", d.ID)
		if end.State != gatehouse.StateSucceeded {
			t.Fatalf("after resets the deployment %s (%s)\n%s", end.State, end.Cause, events(end))
		}
	})
	t.Run("blackhole", func(t *testing.T) {
		h := newHarness(t, "sqlite")
		p, ns := h.faultyEnv(c, "90s")
		d := h.deploy("web", "faulty", h.push("web", testbed.HeldMarker))
		h.until("verified", d.ID, time.Minute, verifying)
		p.Blackhole()
		p.ResetAll() // the watch's connection goes silent-dead too, not only new ones
		// Ten seconds of a silent network is the fault under test.
		time.Sleep(10 * time.Second)
		if cur, err := h.deps.Deployment(h.ctx, "p", "web", d.ID); err != nil || cur.State.Terminal() {
			t.Fatalf("during the blackhole the deployment ended: %v %v", cur.State, err)
		}
		p.Restore()
		h.release(c, ns, 2)
		end := h.wait("web", d.ID)
		if end.State != gatehouse.StateSucceeded {
			t.Fatalf("after a 10s blackhole the deployment %s (%s)\n%s", end.State, end.Cause, events(end))
		}
	})
}

// TestClusterThatDisappears stops a cluster's control plane while twenty deployments target
// it: each fails with "cluster … unreachable" once its stage's timeout has passed, none is
// left running, and deployments to the other cluster meanwhile succeed.
func TestClusterThatDisappears(t *testing.T) {
	gone := testbed.StartT(t, testbed.Options{Nodes: 1})
	h := newHarness(t, "sqlite")
	_, err := sqlstore.NewClusterService(h.db).CreateCluster(h.ctx, gatehouse.ClusterCreate{Name: "gone", Kubeconfig: gatehouse.NewSecret(string(gone.Kubeconfig()))})
	h.must(err)
	var doomed, fine []int64
	apps := map[int64]string{}
	for i := range 20 {
		env := fmt.Sprintf("g%d", i)
		_, err := h.envs.CreateEnvironment(h.ctx, "p", gatehouse.EnvironmentCreate{Name: env, Cluster: "gone", Namespace: env + "-" + h.suffix})
		h.must(err)
		app := fmt.Sprintf("a%d", i)
		h.app(app, "replicas: 1\n", gatehouse.Hooks{}, gatehouse.Stage{Environment: env, Timeout: "15s"})
		// Held: each is still in progress, at one step or another, when the cluster goes.
		d := h.deploy(app, env, h.push(app, testbed.HeldMarker))
		doomed, apps[d.ID] = append(doomed, d.ID), app
	}
	h.env("ok", 0)
	for i := range 3 {
		h.app(fmt.Sprintf("ok%d", i), "replicas: 1\n", gatehouse.Hooks{}, gatehouse.Stage{Environment: "ok", Timeout: "60s"})
	}
	if err := gone.Stop(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		app := fmt.Sprintf("ok%d", i)
		d := h.deploy(app, "ok", h.push(app, ""))
		fine, apps[d.ID] = append(fine, d.ID), app
	}
	for _, id := range fine {
		if d := h.wait(apps[id], id); d.State != gatehouse.StateSucceeded {
			t.Errorf("deployment %d to the other cluster: %s (%s)\n%s", id, d.State, d.Cause, events(d))
		}
	}
	for _, id := range doomed {
		d := h.wait(apps[id], id)
		if d.State != gatehouse.StateFailed || !strings.Contains(d.Cause, "cluster gone unreachable") {
			t.Errorf("deployment %d to the stopped cluster: %s (%s)\n%s", id, d.State, d.Cause, events(d))
			continue
		}
		if took := d.FinishedAt.Sub(*d.StartedAt); took < 15*time.Second || took > 45*time.Second {
			t.Errorf("deployment %d failed %s after it started; its stage's timeout is 15s", id, took)
		}
	}
}
