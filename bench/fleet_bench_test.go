package bench_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/client"
	"github.com/gatehousehq/gatehouse/internal/testbed"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

// BenchmarkHundredApps deploys 100 apps at once; see fleet.
func BenchmarkHundredApps(b *testing.B) { fleet(b, 100, 2) }

// BenchmarkThousandApps deploys 1,000 apps at once; see fleet.
func BenchmarkThousandApps(b *testing.B) { fleet(b, 1000, 10) }

// fleet deploys n apps at once (one new image each, 1 replica, all in one environment, on a
// testbed of the given nodes) and reports the wall time from the first request until the last
// deployment finished, each deployment's trigger → ready percentiles and where that time
// went (waiting in the queue, Helm's render and apply, readiness), all from the server's own
// records, the server's peak RSS and the CPU it used. Completion is watched on the metrics
// endpoint, one scrape every 100 ms, so watching costs the server next to nothing.
func fleet(b *testing.B, n, nodes int) {
	cluster := testbed.StartT(b, testbed.Options{Nodes: nodes})
	metrics := testserver.FreeAddr(b)
	addr := testserver.FreeAddr(b)
	args := []string{"--listen", addr, "--data-dir", b.TempDir(), "--log-level", "warn", "--metrics-listen", metrics}
	if os.Getenv("BENCH_PPROF") == "1" {
		args = append(args, "--pprof")
	}
	proc := testserver.StartProcess(b, args...)
	c := testserver.AdminClient(b, "http://"+addr)
	do(b, c, "POST", "/api/v1/projects", gatehouse.ProjectCreate{Name: "p"}, nil)
	do(b, c, "POST", "/api/v1/clusters", gatehouse.ClusterCreate{Name: "bench", Kubeconfig: gatehouse.OutgoingSecret(string(cluster.Kubeconfig()))}, nil)
	do(b, c, "POST", "/api/v1/projects/p/environments", gatehouse.EnvironmentCreate{Name: "fleet", Cluster: "bench", Namespace: "bench-fleet"}, nil)
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("svc-%04d", i)
	}
	parallel(n, 8, func(i int) {
		do(b, c, "POST", "/api/v1/projects/p/apps", gatehouse.AppCreate{Name: names[i], Values: "replicas: 1\n"}, nil)
		do(b, c, "PUT", "/api/v1/projects/p/apps/"+names[i]+"/pipeline", gatehouse.PipelineSet{Stages: []gatehouse.Stage{{Environment: "fleet"}}}, nil)
	})
	var total time.Duration
	var lat, queue, apply, ready latencies
	ended := 0.0
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		digests := make([]string, n)
		parallel(n, 8, func(i int) {
			digests[i] = randomDigest()
			do(b, c, "POST", "/api/v1/projects/p/apps/"+names[i]+"/artifacts", gatehouse.ArtifactCreate{Image: "registry.example.com/" + names[i] + "@" + digests[i]}, nil)
		})
		b.StartTimer()
		start := time.Now()
		ids := make([]int64, n)
		parallel(n, 32, func(i int) {
			var d gatehouse.Deployment
			do(b, c, "POST", "/api/v1/projects/p/apps/"+names[i]+"/deployments", gatehouse.DeploymentCreate{Environment: "fleet", Digest: digests[i]}, &d)
			ids[i] = d.ID
		})
		ended = awaitEnded(b, metrics, ended+float64(n))
		b.StopTimer()
		var last time.Time
		parallel(n, 8, func(i int) {
			d := deployment(b, c, names[i], ids[i])
			if d.State != gatehouse.StateSucceeded {
				b.Errorf("deployment %d of %s: %s (%s)\n%s", d.ID, names[i], d.State, d.Cause, explain(cluster, "bench-fleet", names[i]))
				return
			}
			lat.add(d.FinishedAt.Sub(d.CreatedAt))
			queue.add(d.StartedAt.Sub(d.CreatedAt))
			apply.add(stepTook(d, appliedIn))
			ready.add(stepTook(d, readyIn))
			lat.mu.Lock()
			if d.FinishedAt.After(last) {
				last = *d.FinishedAt
			}
			lat.mu.Unlock()
		})
		total += last.Sub(start)
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), fmt.Sprintf("s-for-%d", n))
	lat.report(b, "deploys", total)
	for _, part := range []struct {
		name string
		l    *latencies
	}{{"queue", &queue}, {"apply", &apply}, {"ready", &ready}} {
		part.l.percentiles(b, part.name)
	}
	b.ReportMetric(float64(proc.PeakRSS())/(1<<20), "server-peak-MiB")
	b.ReportMetric(cpuSeconds(b, proc.Cmd.Process.Pid), "server-cpu-s")
	for name, pid := range cluster.PIDs() {
		b.ReportMetric(cpuSeconds(b, pid), name+"-cpu-s")
	}
}

// awaitEnded waits until the server whose metrics are served on addr counts at least want
// deployments ended (succeeded or failed), scraping every 100 ms, and returns the count.
func awaitEnded(b *testing.B, addr string, want float64) float64 {
	for ; ; time.Sleep(100 * time.Millisecond) {
		m := testserver.Scrape(b, "http://"+addr+"/metrics", "")
		if done := m.Value("gatehouse_deployments", "state", "succeeded") + m.Value("gatehouse_deployments", "state", "failed"); done >= want {
			return done
		}
	}
}

var (
	appliedIn = regexp.MustCompile(`^applied release \S+ revision \d+ in (\S+)$`)
	readyIn   = regexp.MustCompile(`^ready in (\S+)$`)
)

// stepTook is the duration a deployment's event matching re says its step took.
func stepTook(d *gatehouse.Deployment, re *regexp.Regexp) time.Duration {
	for _, e := range d.Events {
		if m := re.FindStringSubmatch(e.Message); m != nil {
			took, _ := time.ParseDuration(m[1])
			return took
		}
	}
	return 0
}

func deployment(b *testing.B, c *client.Client, app string, id int64) *gatehouse.Deployment {
	var d gatehouse.Deployment
	if err := c.Do(context.Background(), "GET", "/api/v1/projects/p/apps/"+app+"/deployments/"+strconv.FormatInt(id, 10), nil, nil, &d); err != nil {
		b.Fatal(err)
	}
	return &d
}

// parallel runs f(0..n-1) on width goroutines. When f fails the benchmark (b.Fatal ends its
// goroutine), the rest is not run.
func parallel(n, width int, f func(i int)) {
	next, stopped := make(chan int), make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for range width {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer once.Do(func() { close(stopped) })
			for i := range next {
				f(i)
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-stopped:
			break feed
		}
	}
	close(next)
	wg.Wait()
}

// cpuSeconds is the CPU time (user and system) process pid has used.
func cpuSeconds(b *testing.B, pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	user, _ := strconv.ParseFloat(f[11], 64)
	sys, _ := strconv.ParseFloat(f[12], 64)
	return (user + sys) / 100 // USER_HZ
}
