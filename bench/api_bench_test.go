package bench_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

// BenchmarkAPICreateRead measures the REST API end to end on each engine: every operation
// creates an app (an audited write: validation, access check, insert, hash-chain append) and
// reads it back, over loopback HTTP with a bearer token, from 16 concurrent clients.
func BenchmarkAPICreateRead(b *testing.B) {
	for _, engine := range testdb.Engines {
		b.Run(engine, func(b *testing.B) {
			srv := testserver.Start(b, engine)
			ctx := context.Background()
			srv.Must(srv.Admin.Do(ctx, "POST", "/api/v1/projects", nil, gatehouse.ProjectCreate{Name: "bench"}, nil))
			srv.Admin.HTTP.Transport = &http.Transport{MaxIdleConnsPerHost: 64}
			var n atomic.Int64
			var lat latencies
			b.SetParallelism(8)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					name := fmt.Sprintf("app-%d", n.Add(1))
					t0 := time.Now()
					if err := srv.Admin.Do(ctx, "POST", "/api/v1/projects/bench/apps", nil, gatehouse.AppCreate{Name: name, Values: "replicas: 2\n"}, nil); err != nil {
						b.Error(err)
						return
					}
					var app gatehouse.App
					if err := srv.Admin.Do(ctx, "GET", "/api/v1/projects/bench/apps/"+name, nil, nil, &app); err != nil || app.Name != name {
						b.Errorf("read back %s: %v", name, err)
						return
					}
					lat.add(time.Since(t0))
				}
			})
			lat.report(b, "create+read", time.Since(start))
		})
	}
}
