package main_test

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/release"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testbed"
	"github.com/gatehousehq/gatehouse/internal/testserver"
	"github.com/gatehousehq/gatehouse/kube"
)

// TestKilledServerResumesDeployment kills the server (SIGKILL, no goodbye) while a deployment
// is verifying, starts it again on the same data, and checks the deployment completes, says it
// was resumed, and leaves its Helm release deployed, never pending. Its pods are held unready
// (testbed.HeldMarker) until the restarted server has resumed it, so the kill always lands in
// verifying, however slow the machine.
func TestKilledServerResumesDeployment(t *testing.T) {
	cluster := testbed.StartT(t, testbed.Options{Nodes: 1})
	dir := t.TempDir()
	addr := testserver.FreeAddr(t)
	args := []string{"--listen", addr, "--data-dir", filepath.Join(dir, "data"), "--deploy-lease", "2s", "--log-level", "warn"}
	srv := testserver.StartProcess(t, args...).Cmd
	ctx := context.Background()
	url := "http://" + addr
	c := testserver.AdminClient(t, url)
	testserver.Setup(t, c,
		testserver.Post("/api/v1/projects", gatehouse.ProjectCreate{Name: "shop"}),
		testserver.Post("/api/v1/clusters", gatehouse.ClusterCreate{Name: "k", Kubeconfig: gatehouse.OutgoingSecret(string(cluster.Kubeconfig()))}),
		testserver.Post("/api/v1/projects/shop/environments", gatehouse.EnvironmentCreate{Name: "dev", Cluster: "k", Namespace: "shop-dev"}),
		testserver.Post("/api/v1/projects/shop/apps", gatehouse.AppCreate{Name: "web", Values: "replicas: 2\n"}),
		testserver.Put("/api/v1/projects/shop/apps/web/pipeline", gatehouse.PipelineSet{Stages: []gatehouse.Stage{{Environment: "dev"}}}),
		testserver.Post("/api/v1/projects/shop/apps/web/artifacts", gatehouse.ArtifactCreate{Image: "registry.example.com/web-" + testbed.HeldMarker + "@sha256:" + strings.Repeat("7", 64)}),
	)
	var d gatehouse.Deployment
	if err := c.Do(ctx, "POST", "/api/v1/projects/shop/apps/web/deployments", nil,
		gatehouse.DeploymentCreate{Environment: "dev", Digest: "sha256:" + strings.Repeat("7", 64)}, &d); err != nil {
		t.Fatal(err)
	}
	get := func() gatehouse.Deployment {
		var cur gatehouse.Deployment
		if err := c.Do(ctx, "GET", "/api/v1/projects/shop/apps/web/deployments/1", nil, nil, &cur); err != nil {
			t.Fatal(err)
		}
		return cur
	}
	// The held pods keep the deployment verifying until they are released: the deadlines
	// below bound a hang, they time nothing.
	waitFor := func(what string, within time.Duration, ok func(gatehouse.Deployment) bool) gatehouse.Deployment {
		t.Helper()
		for deadline := time.Now().Add(within); ; time.Sleep(50 * time.Millisecond) {
			cur := get()
			if ok(cur) {
				return cur
			}
			if cur.State.Terminal() || time.Now().After(deadline) {
				t.Fatalf("the deployment never %s: %s (%s)\n%s", what, cur.State, cur.Cause, events(cur))
			}
		}
	}
	waitFor("reached verifying", time.Minute, func(d gatehouse.Deployment) bool { return d.State == gatehouse.StateVerifying })
	if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = srv.Wait()
	testserver.StartProcess(t, args...)
	waitFor("was resumed", time.Minute, func(d gatehouse.Deployment) bool {
		return d.State == gatehouse.StateVerifying && strings.Contains(events(d), "verifying: resumed by worker")
	})
	// Both replicas' pods, once the controller has made them.
	for n, deadline := 0, time.Now().Add(time.Minute); n < 2; time.Sleep(50 * time.Millisecond) {
		var err error
		if n, err = cluster.Release(ctx, "shop-dev"); err != nil || n < 2 && time.Now().After(deadline) {
			t.Fatalf("release the held pods: %d released, %v; want 2", n, err)
		}
	}
	final := waitFor("ended", time.Minute, func(d gatehouse.Deployment) bool { return d.State.Terminal() })
	if final.State != gatehouse.StateSucceeded {
		t.Fatalf("after the kill the deployment is %s (%s):\n%s", final.State, final.Cause, events(final))
	}
	conn, err := kube.Connect("k", cluster.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	st, rev, err := conn.ReleaseStatus(ctx, "shop-dev", "web")
	if err != nil || st != release.StatusDeployed || rev != final.HelmRevision {
		t.Fatalf("helm release %s revision %d (deployment says %d): %v", st, rev, final.HelmRevision, err)
	}
}

// events lists a deployment's steps, one a line.
func events(d gatehouse.Deployment) string {
	var b strings.Builder
	for _, e := range d.Events {
		b.WriteString(e.Step + ": " + e.Message + "\n")
	}
	return b.String()
}
