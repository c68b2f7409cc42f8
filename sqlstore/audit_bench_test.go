package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// BenchmarkAuditedWrites measures audited writes (a project update and its audit event) from
// two servers sharing one PostgreSQL database, the chain head locked in each request as before
// the sequencer ("head-lock") and chained by the sequencer after commit ("sequencer"), side by
// side: saturated by 32 writers (ops/s, p50, p99), and offered 500 writes a second (p99, which
// counts the time a write waits for its turn). Run with -benchtime Nx: N writes per case.
func BenchmarkAuditedWrites(b *testing.B) {
	const writers = 32
	for _, mode := range []string{"head-lock", "sequencer"} {
		b.Run(mode, func(b *testing.B) {
			write := auditedWriters(b, mode == "head-lock", writers)
			b.Run("saturated", func(b *testing.B) {
				var next atomic.Int64
				lat := make([]time.Duration, b.N)
				b.ResetTimer()
				start := time.Now()
				var wg sync.WaitGroup
				for w := range writers {
					wg.Go(func() {
						for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
							lat[i] = write(b, w)
						}
					})
				}
				wg.Wait()
				reportLatency(b, lat, time.Since(start))
			})
			b.Run("500-per-s", func(b *testing.B) {
				lat := make([]time.Duration, b.N)
				tick := time.NewTicker(time.Second / 500)
				defer tick.Stop()
				b.ResetTimer()
				start := time.Now()
				var wg sync.WaitGroup
				for i := range b.N {
					<-tick.C
					wg.Go(func() { lat[i] = write(b, i%writers) })
				}
				wg.Wait()
				reportLatency(b, lat, time.Since(start))
			})
		})
	}
}

// auditedWriters opens two stores on one new PostgreSQL database and returns a write for each
// of n writers: writer w updates its own project through store w%2 and says how long it took.
func auditedWriters(b *testing.B, headLock bool, n int) func(b *testing.B, w int) time.Duration {
	dsn, keys := testdb.DSN(b, "postgres"), testdb.NewKeys(b)
	ctx := gatehouse.WithActor(context.Background(), gatehouse.SystemActor())
	var stores [2]*sqlstore.ProjectService
	var audit *sqlstore.AuditService
	for i := range stores {
		db, err := sqlstore.Open(ctx, sqlstore.Options{DSN: dsn, Secrets: keys.Secrets, AuditKey: keys.AuditKey})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		if headLock {
			sqlstore.ChainInRequest(db)
		}
		stores[i], audit = sqlstore.NewProjectService(db), sqlstore.NewAuditService(db)
	}
	// Runs before the stores close: fast writes that broke the chain would be worth nothing.
	b.Cleanup(func() {
		if rep, err := audit.VerifyAudit(ctx); err != nil || !rep.OK || rep.Pending != 0 {
			b.Errorf("after the writes: %+v, %v", rep, err)
		}
	})
	for w := range n {
		if _, err := stores[0].CreateProject(ctx, gatehouse.ProjectCreate{Name: fmt.Sprintf("p%d", w)}); err != nil {
			b.Fatal(err)
		}
	}
	var seq atomic.Int64
	return func(b *testing.B, w int) time.Duration {
		desc := fmt.Sprintf("v%d", seq.Add(1))
		t0 := time.Now()
		if _, err := stores[w%2].UpdateProject(ctx, fmt.Sprintf("p%d", w), gatehouse.ProjectUpdate{Description: &desc}); err != nil {
			b.Error(err)
		}
		return time.Since(t0)
	}
}

// reportLatency reports writes per second over elapsed, and the median and 99th percentile.
func reportLatency(b *testing.B, lat []time.Duration, elapsed time.Duration) {
	slices.Sort(lat)
	at := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "writes/s")
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op") // drops it: with 32 writers at once, or a fixed rate, it says nothing
}
