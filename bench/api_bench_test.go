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
			saturate(b, 8, "create+read", func() (time.Duration, error) {
				name := fmt.Sprintf("app-%d", n.Add(1))
				return timed(func() error {
					if err := srv.Admin.Do(ctx, "POST", "/api/v1/projects/bench/apps", nil, gatehouse.AppCreate{Name: name, Values: "replicas: 2\n"}, nil); err != nil {
						return err
					}
					var app gatehouse.App
					if err := srv.Admin.Do(ctx, "GET", "/api/v1/projects/bench/apps/"+name, nil, nil, &app); err != nil || app.Name != name {
						return fmt.Errorf("read back %s: %v (got %q)", name, err, app.Name)
					}
					return nil
				})
			})
		})
	}
}
