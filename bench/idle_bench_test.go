package bench_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testbed"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

// idleWindow is how long BenchmarkIdleServer watches the idle server per iteration.
const idleWindow = 30 * time.Second

// BenchmarkIdleServer measures what a server on SQLite costs while nobody uses it, once it
// holds 1,000 apps each deployed to three environments (dev → stage → prod, 3,000 Helm
// releases of the built-in chart with no pods, on the testbed): the CPU it uses over a
// window of idleWindow (its periodic work: River's polling and upkeep, the hand-off sweep, the
// audit sequencer) as a share of one core, and its resident memory then.
func BenchmarkIdleServer(b *testing.B) {
	const n = 1000
	cluster := testbed.StartT(b, testbed.Options{})
	metrics, addr := testserver.FreeAddr(b), testserver.FreeAddr(b)
	proc := testserver.StartProcess(b, "--listen", addr, "--data-dir", b.TempDir(), "--log-level", "warn", "--metrics-listen", metrics)
	c := testserver.AdminClient(b, "http://"+addr)
	envs := []string{"dev", "stage", "prod"}
	do(b, c, "POST", "/api/v1/projects", gatehouse.ProjectCreate{Name: "p"}, nil)
	do(b, c, "POST", "/api/v1/clusters", gatehouse.ClusterCreate{Name: "bench", Kubeconfig: gatehouse.OutgoingSecret(string(cluster.Kubeconfig()))}, nil)
	for _, e := range envs {
		do(b, c, "POST", "/api/v1/projects/p/environments", gatehouse.EnvironmentCreate{Name: e, Cluster: "bench", Namespace: "bench-" + e}, nil)
	}
	digests := make([]string, n)
	parallel(n, 8, func(i int) {
		app := fmt.Sprintf("/api/v1/projects/p/apps/svc-%04d", i)
		do(b, c, "POST", "/api/v1/projects/p/apps", gatehouse.AppCreate{Name: fmt.Sprintf("svc-%04d", i), Values: "replicas: 0\n"}, nil)
		do(b, c, "PUT", app+"/pipeline", gatehouse.PipelineSet{Stages: []gatehouse.Stage{
			{Environment: "dev"}, {Environment: "stage", After: "dev"}, {Environment: "prod", After: "stage"}}}, nil)
		digests[i] = randomDigest()
		do(b, c, "POST", app+"/artifacts", gatehouse.ArtifactCreate{Image: fmt.Sprintf("registry.example.com/svc-%04d@%s", i, digests[i])}, nil)
	})
	ended := 0.0
	for _, e := range envs {
		parallel(n, 32, func(i int) {
			do(b, c, "POST", fmt.Sprintf("/api/v1/projects/p/apps/svc-%04d/deployments", i), gatehouse.DeploymentCreate{Environment: e, Digest: digests[i]}, nil)
		})
		ended = awaitEnded(b, metrics, ended+n)
	}
	m := testserver.Scrape(b, "http://"+metrics+"/metrics", "")
	if ok := m.Value("gatehouse_deployments", "state", "succeeded"); ok != 3*n {
		b.Fatalf("%v of %d deployments succeeded", ok, 3*n)
	}
	pid := proc.Cmd.Process.Pid
	var busy float64
	var watched time.Duration
	b.ResetTimer()
	for range b.N {
		cpu, t0 := cpuSeconds(b, pid), time.Now()
		time.Sleep(idleWindow)
		busy += cpuSeconds(b, pid) - cpu
		watched += time.Since(t0)
	}
	b.ReportMetric(100*busy/watched.Seconds(), "idle-cpu-%")
	b.ReportMetric(float64(proc.RSS())/(1<<20), "idle-rss-MiB")
	b.ReportMetric(float64(proc.PeakRSS())/(1<<20), "peak-rss-MiB")
}
