package telemetry_test

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
	"github.com/gatehousehq/gatehouse/internal/wire"
	"github.com/gatehousehq/gatehouse/telemetry"
)

// TestStoreGaugesCountTheDatabase scrapes the gauges read from the database on both engines:
// the matrices' world (deployment 1 succeeded on dev, deployment 2 queued on prod, approval
// request 1 pending), then more of each, and River's jobs once workers are wired in.
func TestStoreGaugesCountTheDatabase(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		w := testserver.StartWorld(t, engine)
		w.AddConfig()
		w.Must(w.DB.ChainPending(t.Context())) // the counter is the chain's length: no event left queued
		m := scrape(t, w.Server)
		deployments := func(m testserver.Families, env, state string) float64 {
			return m.Value("gatehouse_deployments", "project", "shop", "environment", env, "state", state)
		}
		// prod: deployment 2, and 3 that went past the gate with break-glass.
		if deployments(m, "dev", "succeeded") != 1 || deployments(m, "prod", "queued") != 2 || len(m.Find("gatehouse_deployments")) != 2 {
			t.Errorf("deployments: %v", m["gatehouse_deployments"])
		}
		if m.Value("gatehouse_approval_requests_open", "state", "pending") != 1 || m.Value("gatehouse_approval_requests_open", "state", "approved") != 0 ||
			len(m.Find("gatehouse_approval_requests_open")) != 2 {
			t.Errorf("open approval requests: %v", m["gatehouse_approval_requests_open"])
		}
		for _, state := range []string{"draft", "proposed", "approved"} {
			if len(m.Find("gatehouse_drafts_open", "state", state)) != 1 || m.Value("gatehouse_drafts_open", "state", state) != 0 {
				t.Errorf("open drafts before any: %v", m["gatehouse_drafts_open"])
			}
		}
		if m["gatehouse_deployments"].GetType() != dto.MetricType_GAUGE || m["gatehouse_audit_events_total"].GetType() != dto.MetricType_COUNTER {
			t.Errorf("types: deployments %s, audit events %s", m["gatehouse_deployments"].GetType(), m["gatehouse_audit_events_total"].GetType())
		}
		if m["gatehouse_river_jobs"] != nil {
			t.Errorf("River's jobs counted without workers: %v", m["gatehouse_river_jobs"])
		}
		checkAuditLength(t, w, m)

		// More of each: a draft (one open per ConfigMap), a request, two deployments to dev
		// with workers wired but not started, so their jobs wait.
		w.FreshDraft(gatehouse.DraftProposed)
		w.OpenRequest("deployer")
		r, err := wire.Worker(context.Background(), w.DB, wire.WorkerOptions{DataDir: t.TempDir(), Metrics: w.Metrics})
		w.Must(err)
		_ = r // never started: its jobs stay available
		for range 2 {
			w.Do("POST", "/api/v1/projects/shop/apps/web/deployments", gatehouse.DeploymentCreate{Environment: "dev", Digest: w.Push()})
		}
		w.Must(w.DB.ChainPending(t.Context()))
		m = scrape(t, w.Server)
		if deployments(m, "dev", "queued") != 2 || deployments(m, "dev", "succeeded") != 1 || deployments(m, "prod", "queued") != 2 {
			t.Errorf("deployments after two more to dev: %v", m["gatehouse_deployments"])
		}
		if m.Value("gatehouse_approval_requests_open", "state", "pending") != 2 {
			t.Errorf("open approval requests after one more: %v", m["gatehouse_approval_requests_open"])
		}
		if m.Value("gatehouse_drafts_open", "state", "proposed") != 1 || m.Value("gatehouse_drafts_open") != 1 {
			t.Errorf("open drafts after one proposed: %v", m["gatehouse_drafts_open"])
		}
		if m.Value("gatehouse_river_jobs", "state", "available") != 2 || m.Value("gatehouse_river_jobs") != 2 ||
			len(m.Find("gatehouse_river_jobs", "state", "completed")) != 1 {
			t.Errorf("River's jobs: %v", m["gatehouse_river_jobs"])
		}
		if m["gatehouse_river_jobs"].GetType() != dto.MetricType_GAUGE {
			t.Errorf("River's jobs are a %s", m["gatehouse_river_jobs"].GetType())
		}
		checkAuditLength(t, w, m)
	})
}

// checkAuditLength compares the audit counter with the events the database holds, all chained
// before the scrape.
func checkAuditLength(t *testing.T, w *testserver.World, m testserver.Families) {
	t.Helper()
	var held float64
	w.Must(w.DB.Raw().QueryRow(`SELECT COUNT(*) FROM audit_events`).Scan(&held))
	// The scrape's own request is not audited; the count was read before this query.
	if got := m.Value("gatehouse_audit_events_total"); got != held || held == 0 {
		t.Errorf("gatehouse_audit_events_total = %v, the database holds %v events", got, held)
	}
}

// TestApprovalWaitIsObservedOnApproval approves request 1 of the matrices' world an hour and a
// half (by the store's clock) after it was raised: the histogram counts one more wait, under
// prod, equal to the time between the request's creation and decision as the store recorded
// them. A refused vote and a rejection observe nothing.
func TestApprovalWaitIsObservedOnApproval(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		w := testserver.StartWorld(t, engine)
		const wait = "gatehouse_approval_wait_seconds"
		before, _ := scrape(t, w.Server).Histogram(wait)
		if before != 0 {
			t.Fatalf("%d approval waits observed before any approval", before)
		}
		w.Advance(90 * time.Minute)
		ctx := context.Background()
		if err := w.As("viewer").Do(ctx, "POST", "/api/v1/approvals/1/approve", nil, gatehouse.Decision{}, nil); gatehouse.KindOf(err) != gatehouse.KindForbidden {
			t.Fatalf("a viewer's approval: %v", err)
		}
		rejected := w.OpenRequest("deployer")
		w.Must(w.As("image-approver").Do(ctx, "POST", "/api/v1/approvals/"+itoa(rejected)+"/reject", nil, gatehouse.Decision{Comment: "no"}, nil))
		if n, _ := scrape(t, w.Server).Histogram(wait); n != 0 {
			t.Fatalf("%d approval waits observed after a refused vote and a rejection", n)
		}
		var r gatehouse.ApprovalRequest
		w.Must(w.As("image-approver").Do(ctx, "POST", "/api/v1/approvals/1/approve", nil, gatehouse.Decision{Comment: "ok"}, &r))
		if r.DecidedAt == nil || r.State != gatehouse.ApprovalApproved {
			t.Fatalf("request 1 after its approval: %s, decided %v", r.State, r.DecidedAt)
		}
		m := scrape(t, w.Server)
		n, sum := m.Histogram(wait, "environment", "prod")
		want := r.DecidedAt.Sub(r.CreatedAt).Seconds()
		if n != 1 || sum != want || want < (90*time.Minute).Seconds() {
			t.Errorf("approval waits: %d summing %vs, want 1 of %vs (at least 90 minutes)", n, sum, want)
		}
		if total, _ := m.Histogram(wait); total != 1 {
			t.Errorf("%d approval waits in all, want 1", total)
		}
	})
}

// TestScrapeSurvivesAStoreThatFails closes the database under the metrics: the families read
// from it are left out and the error counted, the rest still served, and nothing panics.
func TestScrapeSurvivesAStoreThatFails(t *testing.T) {
	db := testdb.Open(t, "sqlite")
	m := telemetry.New(db, telemetry.Options{Timeout: time.Second})
	m.ObserveRequest("GET /healthz", "GET", 200, time.Millisecond)
	m.WatchJobs()
	m.WatchJobs() // once is enough; twice must not panic
	db.Close()
	var f testserver.Families
	for range 2 { // the second scrape shows the first one's error
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != 200 {
			t.Fatalf("scrape with the store closed: %d %s", rec.Code, rec.Body)
		}
		f = testserver.Parse(t, rec.Body)
	}
	for _, name := range []string{"gatehouse_deployments", "gatehouse_approval_requests_open", "gatehouse_drafts_open", "gatehouse_audit_events_total", "gatehouse_river_jobs"} {
		if f[name] != nil {
			t.Errorf("%s served from a closed store: %v", name, f[name])
		}
	}
	if f.Value(requests, "route", "GET /healthz") != 1 || f["go_goroutines"] == nil {
		t.Errorf("the metrics not read from the store are missing")
	}
	if f.Value("promhttp_metric_handler_errors_total", "cause", "gathering") < 1 {
		t.Errorf("the failed gathering is not counted: %v", f["promhttp_metric_handler_errors_total"])
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
