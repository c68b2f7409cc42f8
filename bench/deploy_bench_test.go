package bench_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/client"
	"github.com/gatehousehq/gatehouse/internal/testbed"
	"github.com/gatehousehq/gatehouse/internal/testserver"
	"github.com/gatehousehq/gatehouse/kube"
)

func randomDigest() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return "sha256:" + hex.EncodeToString(b)
}

// deployServer is a `gatehouse serve` process on SQLite with a testbed cluster registered as
// "bench" and project "p".
func deployServer(b *testing.B, cluster *testbed.Cluster) (*testserver.Proc, *client.Client) {
	addr := testserver.FreeAddr(b)
	p := testserver.StartProcess(b, "--listen", addr, "--data-dir", b.TempDir(), "--log-level", "warn")
	c := testserver.AdminClient(b, "http://"+addr)
	do(b, c, "POST", "/api/v1/projects", gatehouse.ProjectCreate{Name: "p"}, nil)
	do(b, c, "POST", "/api/v1/clusters", gatehouse.ClusterCreate{Name: "bench", Kubeconfig: gatehouse.OutgoingSecret(string(cluster.Kubeconfig()))}, nil)
	return p, c
}

func do(b *testing.B, c *client.Client, method, path string, in, out any) {
	b.Helper()
	if err := c.Do(context.Background(), method, path, nil, in, out); err != nil {
		b.Fatalf("%s %s: %v", method, path, err)
	}
}

// app creates an app with one manual stage to env and returns a function that pushes a new
// artifact and deploys it, returning when the deployment has ended.
func app(b *testing.B, c *client.Client, name, env, values string, poll time.Duration) func() *gatehouse.Deployment {
	do(b, c, "POST", "/api/v1/projects/p/apps", gatehouse.AppCreate{Name: name, Values: values}, nil)
	do(b, c, "PUT", "/api/v1/projects/p/apps/"+name+"/pipeline", gatehouse.PipelineSet{Stages: []gatehouse.Stage{{Environment: env}}}, nil)
	base := "/api/v1/projects/p/apps/" + name
	return func() *gatehouse.Deployment {
		digest := randomDigest()
		do(b, c, "POST", base+"/artifacts", gatehouse.ArtifactCreate{Image: "registry.example.com/" + name + "@" + digest}, nil)
		var d gatehouse.Deployment
		do(b, c, "POST", base+"/deployments", gatehouse.DeploymentCreate{Environment: env, Digest: digest}, &d)
		for !d.State.Terminal() {
			time.Sleep(poll)
			do(b, c, "GET", base+"/deployments/"+strconv.FormatInt(d.ID, 10), nil, &d)
		}
		if d.State != gatehouse.StateSucceeded {
			b.Fatalf("deployment %d of %s %s: %s", d.ID, name, d.State, d.Cause)
		}
		return &d
	}
}

// BenchmarkDeployVsHelmCLI measures trigger → ready for one release upgraded to a new image
// (3 replicas, Gatehouse's builtin chart) on the testbed, side by side with `helm upgrade
// --install --wait` (helm v3.22.0 CLI, same chart, same cluster) in the same run. Gatehouse's
// time runs from the deploy request to the API reporting success, polled every 5 ms.
func BenchmarkDeployVsHelmCLI(b *testing.B) {
	helm := helmCLI(b)
	cluster := testbed.StartT(b, testbed.Options{})
	_, c := deployServer(b, cluster)
	do(b, c, "POST", "/api/v1/projects/p/environments", gatehouse.EnvironmentCreate{Name: "gh", Cluster: "bench", Namespace: "bench-gatehouse"}, nil)
	deploy := app(b, c, "web", "gh", "replicas: 3\n", 5*time.Millisecond)
	chart := filepath.Join(b.TempDir(), "app")
	builtin, err := kube.BuiltinChart()
	if err != nil {
		b.Fatal(err)
	}
	if err := chartutil.SaveDir(builtin, filepath.Dir(chart)); err != nil {
		b.Fatal(err)
	}
	helmUpgrade := func() {
		cmd := exec.Command(helm, "upgrade", "--install", "web", chart, "--namespace", "bench-helm", "--create-namespace", "--wait",
			"--timeout", "120s", "--kubeconfig", cluster.KubeconfigPath(), "--set", "replicas=3",
			"--set", "image.repository=registry.example.com/web", "--set", "image.digest="+randomDigest())
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("helm: %v\n%s", err, out)
		}
	}
	deploy() // first installs; the benchmark measures upgrades
	helmUpgrade()
	var gh, hm time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		deploy()
		gh += time.Since(t0)
		t0 = time.Now()
		helmUpgrade()
		hm += time.Since(t0)
	}
	b.ReportMetric(float64(gh.Milliseconds())/float64(b.N), "gatehouse-ms")
	b.ReportMetric(float64(hm.Milliseconds())/float64(b.N), "helm-cli-ms")
	b.ReportMetric(float64(hm)/float64(gh), "speedup-x")
}

// helmCLI finds bin/helm, building it with scripts/build-helm.sh when missing.
func helmCLI(b *testing.B) string {
	bin, err := testbed.BinDir()
	if err != nil {
		b.Fatal(err)
	}
	helm := filepath.Join(bin, "helm")
	if _, err := os.Stat(helm); err != nil {
		build := exec.Command(filepath.Join(filepath.Dir(bin), "scripts", "build-helm.sh"))
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			b.Fatalf("build the helm CLI: %v", err)
		}
	}
	return helm
}
