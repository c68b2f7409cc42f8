package bench_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

// BenchmarkPages measures the web UI's main pages server-side on each engine, as a signed-in
// browser fetches them over loopback HTTP from 8 concurrent clients: an app with a three-stage
// pipeline, 60 artifacts, 300 deployments, 40 open approval requests and the audit trail
// their setup wrote. Figures per page: p50 and p99 milliseconds, pages per second and the
// page's size.
func BenchmarkPages(b *testing.B) {
	for _, engine := range testdb.Engines {
		b.Run(engine, func(b *testing.B) {
			srv := pagesWorld(b, engine)
			c := signedInBrowser(b, srv.URL)
			const app = "/ui/projects/shop/apps/web"
			for _, page := range []struct{ name, path string }{
				{"home", "/ui/"},
				{"pipeline", app},
				{"approvals", "/ui/approvals"},
				{"history", app + "/history?env=dev"},
				{"config", app + "/config"},
				{"audit", "/ui/audit"},
			} {
				b.Run(page.name, func(b *testing.B) {
					var size atomic.Int64
					saturate(b, 4, "pages", func() (time.Duration, error) { // 4 × GOMAXPROCS(2) = 8 clients
						return timed(func() error { return fetchPage(c, srv.URL+page.path, &size) })
					})
					b.ReportMetric(float64(size.Load())/1024, "KiB/page")
				})
			}
		})
	}
}

// fetchPage gets a whole page and stores its size; anything but a complete page is an error.
func fetchPage(c *http.Client, url string, size *atomic.Int64) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "</main>") {
		return fmt.Errorf("%s: %d", url, resp.StatusCode)
	}
	size.Store(int64(len(body)))
	return nil
}

// pagesWorld seeds what the pages show; deployments are written as finished (no cluster).
func pagesWorld(b *testing.B, engine string) *testserver.Server {
	srv := testserver.Start(b, engine)
	steps := []testserver.Step{
		testserver.Post("/api/v1/projects", gatehouse.ProjectCreate{Name: "shop"}),
		testserver.Post("/api/v1/clusters", gatehouse.ClusterCreate{Name: "c1", Kubeconfig: gatehouse.OutgoingSecret(testdb.Kubeconfig)}),
	}
	for _, e := range []string{"dev", "stage", "prod"} {
		steps = append(steps, testserver.Post("/api/v1/projects/shop/environments", gatehouse.EnvironmentCreate{Name: e, Cluster: "c1", Namespace: "shop-" + e}))
	}
	steps = append(steps,
		testserver.Post("/api/v1/projects/shop/apps", gatehouse.AppCreate{Name: "web", Values: "replicas: 2\n"}),
		testserver.Put("/api/v1/projects/shop/apps/web/pipeline", gatehouse.PipelineSet{Stages: []gatehouse.Stage{
			{Environment: "dev"}, {Environment: "stage", After: "dev"}, {Environment: "prod", After: "stage"}}}),
		testserver.Post("/api/v1/policies", gatehouse.PolicySpec{Name: "prod-gate", Scope: "project:shop/env:prod", Rules: []gatehouse.Rule{{Kind: "any", Count: 2}}}))
	digest := func(i int) string { return fmt.Sprintf("sha256:%064x", i+1) }
	for i := range 60 {
		steps = append(steps, testserver.Post("/api/v1/projects/shop/apps/web/artifacts",
			gatehouse.ArtifactCreate{Image: fmt.Sprintf("registry.example.com/web:1.%d@%s", i, digest(i)), Commit: fmt.Sprintf("c0ffee%d", i)}))
	}
	for i := range 300 {
		steps = append(steps, testserver.Post("/api/v1/projects/shop/apps/web/deployments", gatehouse.DeploymentCreate{Environment: "dev", Digest: digest(i % 60)}))
	}
	for i := range 40 {
		steps = append(steps, testserver.Post("/api/v1/projects/shop/apps/web/approvals",
			gatehouse.ApprovalCreate{Environment: "prod", Digest: digest(i), Comment: fmt.Sprintf("release 1.%d", i)}))
	}
	srv.Setup(steps...)
	if _, err := srv.DB.Raw().ExecContext(context.Background(), `UPDATE deployments SET state = 'succeeded'`); err != nil {
		b.Fatal(err)
	}
	return srv
}

// signedInBrowser is an HTTP client holding the admin's session cookie.
func signedInBrowser(b *testing.B, base string) *http.Client {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	resp, err := c.Post(base+"/api/v1/session", "application/json",
		strings.NewReader(fmt.Sprintf(`{"username":"admin","password":%q}`, testserver.Password)))
	if err != nil || resp.StatusCode != http.StatusCreated {
		b.Fatalf("sign in: %v %v", err, resp)
	}
	resp.Body.Close()
	return c
}
