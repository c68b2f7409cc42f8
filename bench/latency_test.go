package bench_test

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// latencies collects request durations from many goroutines and reports percentiles.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// report adds p50 and p99 (milliseconds) and operations per second to the benchmark's figures.
func (l *latencies) report(b *testing.B, ops string, elapsed time.Duration) {
	if l.percentiles(b, "") {
		b.ReportMetric(float64(len(l.d))/elapsed.Seconds(), ops+"/s")
	}
}

// percentiles adds p50 and p99 (milliseconds), named after what ("what-p50-ms"; "p50-ms" when
// empty), and reports whether there were any.
func (l *latencies) percentiles(b *testing.B, what string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return false
	}
	slices.Sort(l.d)
	pct := func(p float64) float64 {
		return float64(l.d[int(float64(len(l.d)-1)*p)].Microseconds()) / 1000
	}
	if what != "" {
		what += "-"
	}
	b.ReportMetric(pct(0.50), what+"p50-ms")
	b.ReportMetric(pct(0.99), what+"p99-ms")
	return true
}

// saturate runs op b.N times from parallelism × GOMAXPROCS clients at once and reports the
// latency percentiles op measured and the operations per second, named ops. An error fails
// the benchmark and stops that client.
func saturate(b *testing.B, parallelism int, ops string, op func() (time.Duration, error)) {
	var lat latencies
	b.SetParallelism(parallelism)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			d, err := op()
			if err != nil {
				b.Error(err)
				return
			}
			lat.add(d)
		}
	})
	lat.report(b, ops, time.Since(start))
}

// timed runs f and says how long it took.
func timed(f func() error) (time.Duration, error) {
	t0 := time.Now()
	err := f()
	return time.Since(t0), err
}
