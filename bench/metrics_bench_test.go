package bench_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// metricsWorld is a project of 50 apps with a year of production history: 100,000
// deployments (a few failed, rolled back or undone by a rollback), 20,000 of them through an
// approval request with its vote.
func metricsWorld(b *testing.B, engine string) *testserver.Server {
	srv := testserver.Start(b, engine)
	steps := []testserver.Step{
		testserver.Post("/api/v1/projects", gatehouse.ProjectCreate{Name: "shop"}),
		testserver.Post("/api/v1/clusters", gatehouse.ClusterCreate{Name: "c1", Kubeconfig: gatehouse.OutgoingSecret(testdb.Kubeconfig)}),
		testserver.Post("/api/v1/projects/shop/environments", gatehouse.EnvironmentCreate{Name: "dev", Cluster: "c1", Namespace: "shop-dev"}),
		testserver.Post("/api/v1/projects/shop/environments", gatehouse.EnvironmentCreate{Name: "prod", Cluster: "c1", Namespace: "shop-prod", Production: true}),
	}
	var apps []string
	for i := range 50 {
		apps = append(apps, fmt.Sprintf("app-%02d", i))
		steps = append(steps, testserver.Post("/api/v1/projects/shop/apps", gatehouse.AppCreate{Name: apps[i]}))
	}
	srv.Setup(steps...)
	end := time.Now().UTC()
	start := time.Now()
	err := srv.DB.SeedHistory(context.Background(), sqlstore.HistorySpec{Project: "shop", Apps: apps, Environment: "prod",
		From: end.AddDate(-1, 0, 0), To: end, Deployments: 100_000, Approved: 0.2, Failures: 0.06, Rollbacks: 0.02,
		Policy: "prod-gate", Approvers: []string{"ann", "ben", "cat"}, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: seeded 100,000 deployments in %s", engine, time.Since(start).Round(time.Millisecond))
	return srv
}

// BenchmarkMetrics measures delivery metrics over the API on each engine: the DORA metrics
// and the lead-time breakdown of the whole project over the last 90 days (about 25,000
// deployments), and of one app; and the project's Metrics page over the same data. Figures:
// milliseconds per report or page.
func BenchmarkMetrics(b *testing.B) {
	for _, engine := range testdb.Engines {
		b.Run(engine, func(b *testing.B) {
			srv := metricsWorld(b, engine)
			ctx := context.Background()
			for _, c := range []struct{ name, path, app string }{
				{"dora-project-90d", "dora", ""}, {"leadtime-project-90d", "leadtime", ""}, {"dora-app-90d", "dora", "app-07"},
			} {
				b.Run(c.name, func(b *testing.B) {
					q := url.Values{"project": {"shop"}, "since": {"90d"}}
					if c.app != "" {
						q.Set("app", c.app)
					}
					var r struct {
						Frequency gatehouse.FrequencyFigure `json:"deployment_frequency"`
						Changes   int                       `json:"changes"`
					}
					b.ResetTimer()
					for b.Loop() {
						if err := srv.Admin.Do(ctx, "GET", "/api/v1/metrics/"+c.path, q, nil, &r); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/report")
					b.ReportMetric(float64(r.Frequency.Deployments+r.Changes), "counted")
				})
			}
			// The Metrics page reads both reports and draws them.
			b.Run("page-project-90d", func(b *testing.B) {
				c := signedInBrowser(b, srv.URL)
				var size int
				b.ResetTimer()
				for b.Loop() {
					resp, err := c.Get(srv.URL + "/ui/projects/shop/metrics?since=90d")
					if err != nil {
						b.Fatal(err)
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "</main>") {
						b.Fatalf("metrics page: %d", resp.StatusCode)
					}
					size = len(body)
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/page")
				b.ReportMetric(float64(size)/1024, "KiB/page")
			})
		})
	}
}
