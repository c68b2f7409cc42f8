package telemetry_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
	"github.com/gatehousehq/gatehouse/telemetry"
)

const requests = "gatehouse_http_requests_total"

// scrape reads the test server's /metrics with its metrics token.
func scrape(t *testing.T, s *testserver.Server) testserver.Families {
	t.Helper()
	return testserver.Scrape(t, s.URL+"/metrics", testserver.MetricsToken)
}

// send makes a request with the header set (Authorization "Bearer …", say) and returns its
// status and body.
func send(t *testing.T, method, url string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestRequestsAreCountedByRoutePattern scrapes a real server after requests to routes with
// path values, to paths no route serves and with a made-up method: each is counted under its
// route pattern (or "unmatched", or method "other"), and no label value carries a path, a
// digest, a user name or an id.
func TestRequestsAreCountedByRoutePattern(t *testing.T) {
	s := testserver.Start(t, "sqlite")
	ctx := context.Background()
	s.Must(s.Admin.Do(ctx, "POST", "/api/v1/projects", nil, gatehouse.ProjectCreate{Name: "shop"}, nil))
	person := s.Person("metrics-person-q7", "viewer@project:shop")
	s.Must(person.Do(ctx, "GET", "/api/v1/projects/shop", nil, nil, nil))
	s.Must(person.Do(ctx, "GET", "/api/v1/projects/shop", nil, nil, nil))
	if err := person.Do(ctx, "GET", "/api/v1/projects/shop/apps/web/deployments/48151623", nil, nil, nil); gatehouse.KindOf(err) != gatehouse.KindNotFound {
		t.Fatalf("deployment of a missing app: %v", err)
	}
	digest := testserver.Digest(7)
	for _, path := range []string{"/no/such/path/" + digest, "/no/such/path/48151623", "/api/v1/projects/shop/nothing-here"} {
		if code, _ := send(t, "GET", s.URL+path); code != http.StatusNotFound {
			t.Fatalf("GET %s: %d", path, code)
		}
	}
	if code, _ := send(t, "BREW", s.URL+"/api/v1/projects"); code != http.StatusMethodNotAllowed {
		t.Fatalf("BREW: %d", code)
	}

	m := scrape(t, s)
	for name, want := range map[string]dto.MetricType{
		requests: dto.MetricType_COUNTER, "gatehouse_http_request_duration_seconds": dto.MetricType_HISTOGRAM,
		"gatehouse_approval_requests_open": dto.MetricType_GAUGE,
		"gatehouse_drafts_open":            dto.MetricType_GAUGE, "gatehouse_audit_events_total": dto.MetricType_COUNTER,
	} {
		if m[name] == nil {
			t.Errorf("no family %s", name)
		} else if got := m[name].GetType(); got != want {
			t.Errorf("%s is a %s, want %s", name, got, want)
		}
	}
	project := "GET /api/v1/projects/{project}"
	if n := m.Value(requests, "route", project, "method", "GET", "status", "200"); n != 2 {
		t.Errorf("%s 200 counted %v times, want 2", project, n)
	}
	deployment := "GET /api/v1/projects/{project}/apps/{app}/deployments/{id}"
	if n := m.Value(requests, "route", deployment, "method", "GET", "status", "404"); n != 1 {
		t.Errorf("%s 404 counted %v times, want 1", deployment, n)
	}
	if n := m.Value(requests, "route", telemetry.Unmatched, "method", "GET", "status", "404"); n != 3 {
		t.Errorf("unmatched GETs counted %v times, want 3", n)
	}
	if n := m.Value(requests, "route", telemetry.Unmatched, "method", "other", "status", "405"); n != 1 {
		t.Errorf("the BREW counted %v times under unmatched/other/405, want 1", n)
	}
	if count, _ := m.Histogram("gatehouse_http_request_duration_seconds", "route", project, "method", "GET"); count != 2 {
		t.Errorf("%s timed %d times, want 2", project, count)
	}
	digits := regexp.MustCompile(`^[0-9]+$`)
	for name, fam := range m {
		for _, sample := range fam.GetMetric() {
			for _, l := range sample.GetLabel() {
				v := l.GetValue()
				switch {
				case strings.Contains(v, "sha256:"), strings.Contains(v, "metrics-person"), strings.Contains(v, "/no/such"),
					strings.Contains(v, "nothing-here"), strings.Contains(v, "BREW"), strings.Contains(v, "48151623"):
					t.Errorf("%s has label %s=%q", name, l.GetName(), v)
				case l.GetName() != "status" && digits.MatchString(v):
					t.Errorf("%s has a number for label %s: %q", name, l.GetName(), v)
				}
			}
		}
	}
}

// TestMetricsNeedTheToken checks /metrics serves only the metrics token: no credential, a
// wrong token, the super-admin's API token or session are refused with 401 and no body.
func TestMetricsNeedTheToken(t *testing.T) {
	s := testserver.Start(t, "sqlite")
	cookie := signIn(t, s)
	var tok gatehouse.NewToken
	s.Must(s.Admin.Do(context.Background(), "POST", "/api/v1/tokens", nil, gatehouse.TokenCreate{Name: "scraper"}, &tok))
	refused := map[string][]string{
		"no credential":   nil,
		"a wrong token":   {"Authorization", "Bearer " + testserver.MetricsToken + "-not"},
		"a token's tail":  {"Authorization", "Bearer " + testserver.MetricsToken[1:]},
		"another scheme":  {"Authorization", "Basic " + testserver.MetricsToken},
		"an API token":    {"Authorization", "Bearer " + tok.Secret},
		"a session":       {"Cookie", cookie},
		"an empty bearer": {"Authorization", "Bearer "},
	}
	for what, header := range refused {
		code, body := send(t, "GET", s.URL+"/metrics", header...)
		if code != http.StatusUnauthorized || body != "" {
			t.Errorf("%s: %d %q, want 401 and no body", what, code, body)
		}
	}
	code, body := send(t, "GET", s.URL+"/metrics", "Authorization", "Bearer "+testserver.MetricsToken, "Cookie", cookie)
	if code != http.StatusOK || !strings.Contains(body, "gatehouse_audit_events_total") {
		t.Fatalf("with the token: %d %.300s", code, body)
	}
}

// signIn signs the super-admin in through the API and returns the session cookie.
func signIn(t *testing.T, s *testserver.Server) string {
	t.Helper()
	resp, err := http.Post(s.URL+"/api/v1/session", "application/json",
		strings.NewReader(fmt.Sprintf(`{"username": "admin", "password": %q}`, testserver.Password)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "gatehouse_session" {
			if code, _ := send(t, "GET", s.URL+"/api/v1/me", "Cookie", c.Name+"="+c.Value); code != http.StatusOK {
				t.Fatalf("the session does not serve the API: %d", code)
			}
			return c.Name + "=" + c.Value
		}
	}
	t.Fatalf("sign-in gave no session cookie: %d", resp.StatusCode)
	return ""
}

// TestDeploymentEndedObservesOutcomeAndSteps observes ended deployments built as the worker
// records them: the time from start to end goes under environment and outcome, each step
// under its name, a step with nothing to do (left in the commit that entered it) not at all,
// and a deployment that has not ended is not observed.
func TestDeploymentEndedObservesOutcomeAndSteps(t *testing.T) {
	m := telemetry.New(testdb.Open(t, "sqlite"), telemetry.Options{})
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	ev := func(s float64, step gatehouse.DeploymentState, msg string) gatehouse.DeploymentEvent {
		return gatehouse.DeploymentEvent{Time: at(s), Step: string(step), Message: msg}
	}
	succeeded := &gatehouse.Deployment{ID: 41, Environment: "prod", State: gatehouse.StateSucceeded, StartedAt: ptr(at(0)), FinishedAt: ptr(at(80)),
		Events: []gatehouse.DeploymentEvent{
			ev(0, gatehouse.StatePreDeploy, "started by worker w"), ev(5, gatehouse.StatePreDeploy, "step migrate succeeded"),
			ev(20, gatehouse.StateApplying, ""), ev(21, gatehouse.StateApplying, "resumed by worker v after worker w stopped"),
			ev(50, gatehouse.StateVerifying, "applied"), ev(80, gatehouse.StatePostDeploy, "ready"), ev(80, gatehouse.StateSucceeded, ""),
			ev(81, gatehouse.StateSucceeded, "stage prod waits for approval"),
		}}
	failed := &gatehouse.Deployment{ID: 42, Environment: "dev", State: gatehouse.StateFailed, StartedAt: ptr(at(0)), FinishedAt: ptr(at(12.5)),
		Events: []gatehouse.DeploymentEvent{
			ev(0, gatehouse.StatePreDeploy, "started"), ev(0, gatehouse.StateApplying, "no pre-deploy steps"),
			ev(12.5, gatehouse.StateFailed, "chart: not found"),
		}}
	running := &gatehouse.Deployment{ID: 43, Environment: "dev", State: gatehouse.StateVerifying, StartedAt: ptr(at(0)),
		Events: []gatehouse.DeploymentEvent{ev(0, gatehouse.StatePreDeploy, ""), ev(3, gatehouse.StateApplying, ""), ev(9, gatehouse.StateVerifying, "")}}
	for _, d := range []*gatehouse.Deployment{succeeded, failed, running} {
		m.DeploymentEnded(d)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	f := testserver.Parse(t, rec.Body)
	for _, c := range []struct {
		labels []string
		count  uint64
		sum    float64
	}{
		{[]string{"environment", "prod", "outcome", "succeeded"}, 1, 80},
		{[]string{"environment", "dev", "outcome", "failed"}, 1, 12.5},
		{[]string{"environment", "dev"}, 1, 12.5}, // not the running one
	} {
		if n, sum := f.Histogram("gatehouse_deployment_duration_seconds", c.labels...); n != c.count || sum != c.sum {
			t.Errorf("deployment duration %v: %d observations summing %v, want %d summing %v", c.labels, n, sum, c.count, c.sum)
		}
	}
	for step, want := range map[string]struct {
		count uint64
		sum   float64
	}{"pre-deploy": {1, 20}, "applying": {2, 30 + 12.5}, "verifying": {1, 30}, "post-deploy": {0, 0}} {
		if n, sum := f.Histogram("gatehouse_deployment_step_duration_seconds", "step", step); n != want.count || sum != want.sum {
			t.Errorf("step %s: %d observations summing %v, want %d summing %v", step, n, sum, want.count, want.sum)
		}
	}
	if fam := f["gatehouse_deployment_duration_seconds"]; fam.GetType() != dto.MetricType_HISTOGRAM {
		t.Errorf("deployment duration is a %s", fam.GetType())
	}
	// The parser lists +Inf as a bucket of its own.
	if got := f["gatehouse_deployment_duration_seconds"].GetMetric()[0].GetHistogram().GetBucket(); got[len(got)-2].GetUpperBound() != 1800 {
		t.Errorf("the last finite bucket is %v, want 1800 (30 minutes)", got[len(got)-2].GetUpperBound())
	}
}

func ptr[T any](v T) *T { return &v }
