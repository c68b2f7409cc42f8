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
// was resumed, and leaves its Helm release deployed, never pending.
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
		testserver.Post("/api/v1/projects/shop/apps/web/artifacts", gatehouse.ArtifactCreate{Image: "registry.example.com/web-slow-ready@sha256:" + strings.Repeat("7", 64)}),
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
	for deadline := time.Now().Add(30 * time.Second); get().State != gatehouse.StateVerifying; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("deployment never reached verifying: %+v", get())
		}
	}
	if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = srv.Wait()
	testserver.StartProcess(t, args...)
	var final gatehouse.Deployment
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if final = get(); final.State.Terminal() || time.Now().After(deadline) {
			break
		}
	}
	var log strings.Builder
	for _, e := range final.Events {
		log.WriteString(e.Step + ": " + e.Message + "\n")
	}
	if final.State != gatehouse.StateSucceeded || !strings.Contains(log.String(), "verifying: resumed by worker") {
		t.Fatalf("after the kill the deployment is %s (%s):\n%s", final.State, final.Cause, log.String())
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
