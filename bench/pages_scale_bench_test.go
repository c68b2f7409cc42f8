package bench_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

// BenchmarkPagesAtScale measures the web UI's main pages on SQLite as one signed-in browser
// fetches them one after another, in a project of 1,000 apps (dev → stage → prod, prod gated
// by a policy), each with ten artifacts awaiting approval for prod — 10,000 open requests — and
// one finished deployment to dev. Figures per page: p50 and p99 milliseconds and its size.
func BenchmarkPagesAtScale(b *testing.B) {
	const apps, perApp = 1000, 10
	srv := testserver.Start(b, "sqlite")
	c := srv.Login("admin")
	srv.Setup(
		testserver.Post("/api/v1/projects", gatehouse.ProjectCreate{Name: "shop"}),
		testserver.Post("/api/v1/clusters", gatehouse.ClusterCreate{Name: "c1", Kubeconfig: gatehouse.OutgoingSecret(testdb.Kubeconfig)}),
		testserver.Post("/api/v1/projects/shop/environments", gatehouse.EnvironmentCreate{Name: "dev", Cluster: "c1", Namespace: "shop-dev"}),
		testserver.Post("/api/v1/projects/shop/environments", gatehouse.EnvironmentCreate{Name: "stage", Cluster: "c1", Namespace: "shop-stage"}),
		testserver.Post("/api/v1/projects/shop/environments", gatehouse.EnvironmentCreate{Name: "prod", Cluster: "c1", Namespace: "shop-prod"}))
	parallel(apps, 8, func(i int) {
		name := fmt.Sprintf("svc-%04d", i)
		do(b, c, "POST", "/api/v1/projects/shop/apps", gatehouse.AppCreate{Name: name, Values: "replicas: 1\n"}, nil)
		do(b, c, "PUT", "/api/v1/projects/shop/apps/"+name+"/pipeline", gatehouse.PipelineSet{Stages: []gatehouse.Stage{
			{Environment: "dev"}, {Environment: "stage", After: "dev"}, {Environment: "prod", After: "stage"}}}, nil)
	})
	// The gate closes once the pipelines are set: from then on they change through drafts.
	srv.Setup(testserver.Post("/api/v1/policies", gatehouse.PolicySpec{Name: "prod-gate", Scope: "project:shop/env:prod", Rules: []gatehouse.Rule{{Kind: "any", Count: 2}}}))
	parallel(apps, 8, func(i int) {
		name := fmt.Sprintf("svc-%04d", i)
		base := "/api/v1/projects/shop/apps/" + name
		for j := range perApp {
			digest := fmt.Sprintf("sha256:%060x%04x", i+1, j)
			do(b, c, "POST", base+"/artifacts", gatehouse.ArtifactCreate{Image: fmt.Sprintf("registry.example.com/%s:1.%d@%s", name, j, digest)}, nil)
			if j == 0 {
				do(b, c, "POST", base+"/deployments", gatehouse.DeploymentCreate{Environment: "dev", Digest: digest}, nil)
			}
			do(b, c, "POST", base+"/approvals", gatehouse.ApprovalCreate{Environment: "prod", Digest: digest, Comment: fmt.Sprintf("release 1.%d", j)}, nil)
		}
	})
	// Deployments are written as finished: no cluster runs them here.
	if _, err := srv.DB.Raw().ExecContext(context.Background(), `UPDATE deployments SET state = 'succeeded'`); err != nil {
		b.Fatal(err)
	}
	browser := signedInBrowser(b, srv.URL)
	const app = "/ui/projects/shop/apps/svc-0500"
	for _, page := range []struct{ name, path string }{
		{"home", "/ui/"},
		{"pipeline", app},
		{"approvals", "/ui/approvals"},
		{"history", app + "/history?env=dev"},
	} {
		b.Run(page.name, func(b *testing.B) {
			var size atomic.Int64
			var lat latencies
			for range b.N {
				d, err := timed(func() error { return fetchPage(browser, srv.URL+page.path, &size) })
				if err != nil {
					b.Fatal(err)
				}
				lat.add(d)
			}
			lat.percentiles(b, "")
			b.ReportMetric(float64(size.Load())/1024, "KiB/page")
		})
	}
}
