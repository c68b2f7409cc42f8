package ui_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/ui"
)

// metricsReports asks the API for the DORA and lead-time reports of the query, as the user.
func (h *metricsHistory) metricsReports(user string, q url.Values) (*gatehouse.DORAReport, *gatehouse.LeadTimeReport) {
	h.t.Helper()
	c := h.srv.Login(user)
	var d gatehouse.DORAReport
	var l gatehouse.LeadTimeReport
	h.do(c, "GET", "/api/v1/metrics/dora?"+q.Encode(), nil, &d)
	h.do(c, "GET", "/api/v1/metrics/leadtime?"+q.Encode(), nil, &l)
	return &d, &l
}

// wantOnPage fails the test for every string the page lacks.
func wantOnPage(t *testing.T, what, body string, want ...string) {
	t.Helper()
	missing := false
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
			missing = true
		}
	}
	if missing {
		t.Logf("%s:\n%s", what, body)
	}
}

// count is "1 change", "2 changes".
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// pageFigures is what the page must say of the reports: the four figures with their bands
// and details, the stages, the approval wait per policy and approver, and the drafts.
func pageFigures(d *gatehouse.DORAReport, l *gatehouse.LeadTimeReport) []string {
	// A figure of a Stat that counts nothing is a dash.
	of := func(s gatehouse.Stat, d time.Duration) string {
		if s.Count == 0 {
			return "—"
		}
		return ui.HumanDuration(d)
	}
	dur := ui.HumanDuration
	band := func(b gatehouse.Band) string {
		if b == "" {
			return "DORA band: not rated"
		}
		return "DORA band: " + string(b)
	}
	f, lt, cf, rs := d.Frequency, d.LeadTime, d.Failures, d.Restore
	want := []string{
		fmt.Sprintf(`data-figure="deployment-frequency">%.2f per day`, f.PerDay), count(f.Deployments, "deployment") + " in 30 days", count(f.ActiveDays, "active day"), band(f.Band),
		`data-figure="lead-time-for-changes">median ` + of(lt.Stat, lt.Stat.Median), "90th percentile " + of(lt.Stat, lt.Stat.P90), count(lt.Stat.Count, "change"),
		fmt.Sprintf("%d without a commit time", lt.WithoutCommitTime), band(lt.Band),
		fmt.Sprintf(`data-figure="change-failure-rate">%d/%d (%s)`, cf.Failed, cf.Ended, ui.PercentText(cf.Rate)), fmt.Sprintf("%d failed of %s that ended", cf.Failed, count(cf.Ended, "deployment")), band(cf.Band),
		`data-figure="time-to-restore">median ` + of(rs.Stat, rs.Stat.Median), "90th percentile " + of(rs.Stat, rs.Stat.P90), count(rs.Stat.Count, "failure") + " restored",
		fmt.Sprintf("%d not restored yet", rs.Unrestored), band(rs.Band),
		fmt.Sprintf("median %s, 90th percentile %s, over %d approved requests; %s of all lead time", of(l.ApprovalWait, l.ApprovalWait.Median), of(l.ApprovalWait, l.ApprovalWait.P90),
			l.ApprovalWait.Count, ui.PercentText(l.ApprovalShare)),
	}
	for _, s := range l.Stages {
		if s.Stat.Count > 0 {
			want = append(want, fmt.Sprintf("<tr><td>%s</td><td>%s</td><td>%s</td><td>%d</td></tr>", s.Label, dur(s.Stat.Median), dur(s.Stat.P90), s.Stat.Count))
		}
	}
	for _, p := range l.Policies {
		want = append(want, fmt.Sprintf("<tr><td>%s</td><td>%s</td><td>%s</td><td>%d</td></tr>", p.Policy, dur(p.Wait.Median), dur(p.Wait.P90), p.Wait.Count))
	}
	for _, a := range l.Approvers {
		want = append(want, fmt.Sprintf("<tr><td>%s</td><td>%d</td><td>%s</td><td>%s</td></tr>", a.Approver, a.Votes, dur(a.Wait.Median), dur(a.Wait.P90)))
	}
	for _, k := range l.Drafts {
		want = append(want, fmt.Sprintf("<tr><td>%s</td><td>%d</td><td>%s / %s</td><td>%s / %s</td>", k.Kind, k.Published,
			dur(k.Review.Median), dur(k.Review.P90), dur(k.Publish.Median), dur(k.Publish.P90)))
	}
	for _, label := range gatehouse.LeadStageLabels {
		want = append(want, "</svg> "+label+"</li>") // the legend names every stage
	}
	return want
}

// TestMetricsPages: the project's and the app's metrics pages say what the API's reports say
// for the same query and the same person, with the story's counts (worked out by hand in
// metricsWorld); a person who sees one app gets that app's figures on the project's page; an
// empty period says so without charts; a project with no production environment says
// nothing is counted; bad parameters are a 400 naming the field; what the person does not
// see is a 404.
func TestMetricsPages(t *testing.T) { testdb.ForEach(t, metricsPages) }

func metricsPages(t *testing.T, engine string) {
	h := metricsWorld(t, engine)
	vera := signInPages(t, h.srv, "vera", nil)
	q := url.Values{"since": {"30d"}}
	for _, c := range []struct {
		name, path, app string
		ended, failed   int
		byHand          []string // figures worked out from the story
	}{
		{"project", "/ui/projects/shop/metrics", "", 7, 2, []string{"6 deployments in 30 days", `data-figure="lead-time-for-changes">median 1h 45m`, `data-figure="change-failure-rate">2/7 (28.6%)`,
			`data-figure="time-to-restore">median 1h 18m`, "90th percentile 1h 28m",
			"<td>bob</td><td>4</td>", "<td>carol</td><td>1</td>", "<td>configmap</td><td>1</td><td>40m / 40m</td><td>10m / 10m</td>"}},
		{"app", "/ui/projects/shop/apps/web/metrics", "web", 6, 2, []string{"5 deployments in 30 days", `data-figure="lead-time-for-changes">median 1h 18m`, `data-figure="change-failure-rate">2/6 (33.3%)`,
			`data-figure="time-to-restore">median 1h 18m`,
			"<td>bob</td><td>3</td>", "<td>carol</td><td>1</td>", "<td>configmap</td><td>1</td>"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			page := vera.page(c.path + "?" + q.Encode())
			aq := url.Values{"project": {"shop"}, "since": {"30d"}}
			if c.app != "" {
				aq.Set("app", c.app)
			}
			d, l := h.metricsReports("vera", aq)
			if d.Failures.Ended != c.ended || d.Failures.Failed != c.failed || d.Restore.Stat.Count != 2 || d.LeadTime.WithoutCommitTime != 0 ||
				len(d.Environments) != 1 || d.Environments[0] != "prod" {
				t.Fatalf("the API's report is not the story's: %+v", d)
			}
			wantOnPage(t, c.path, page, pageFigures(d, l)...)
			wantOnPage(t, c.path, page, c.byHand...)
			wantOnPage(t, c.path, page, "deployments to prod (the environments marked production)", `role="img"`,
				`aria-label="Deployments per week"`, "Weekly numbers: Change failure rate", "Mean of each stage per week", "bob", "carol", "prod-gate")
			if n := strings.Count(page, `<svg class="chart"`); n != 5 {
				t.Errorf("%d charts, want 5 (four trends, the breakdown)", n)
			}
			if strings.Contains(page, "style=") || strings.Count(page, "<script") != 1 {
				t.Errorf("the page has inline style or script, which its Content-Security-Policy forbids")
			}
		})
	}

	// ann sees app api only: shop's page counts api's one deployment.
	ann := signInPages(t, h.srv, "ann", nil)
	page := ann.page("/ui/projects/shop/metrics?since=30d")
	d, l := h.metricsReports("ann", url.Values{"project": {"shop"}, "since": {"30d"}})
	if d.Frequency.Deployments != 1 || d.Failures.Ended != 1 || d.Failures.Failed != 0 {
		t.Fatalf("ann's report counts more than api: %+v", d)
	}
	wantOnPage(t, "ann's project page", page, pageFigures(d, l)...)
	wantOnPage(t, "ann's project page", page, "1 deployment in 30 days", "0/1 (0%)", "0 failures restored", `data-figure="time-to-restore">median —`)

	// The links lead there.
	wantOnPage(t, "pipeline", vera.page("/ui/projects/shop/apps/web"), `href="/ui/projects/shop/apps/web/metrics"`)
	wantOnPage(t, "home", vera.page("/ui/"), `href="/ui/projects/shop/metrics"`)

	for _, c := range []struct{ what, path, want string }{
		{"no deployment in the period", "/ui/projects/shop/metrics?from=2020-01-01&to=2020-02-01",
			"No deployments to prod ended in this period, so there is nothing to measure."},
		{"an app, in one environment", "/ui/projects/shop/apps/api/metrics?environment=dev&since=90d",
			"No deployments of api to dev ended in this period"},
		{"no production environment", "/ui/projects/lab/metrics", "Nothing is counted: no environment of lab is marked production."},
	} {
		page := vera.page(c.path)
		wantOnPage(t, c.what, page, c.want, "data-empty")
		if strings.Contains(page, "<svg") || strings.Contains(page, "per day") {
			t.Errorf("%s: the empty page draws figures or charts:\n%s", c.what, page)
		}
	}

	for _, c := range []struct{ path, want string }{
		{"/ui/projects/shop/metrics?since=30x", `since: &#34;30x&#34; is not a period`},
		{"/ui/projects/shop/apps/web/metrics?since=7d&amp;from=2026-11-01", "since: given with from"},
		{"/ui/projects/shop/metrics?from=yesterday", "from: &#34;yesterday&#34; is not a time"},
		{"/ui/projects/shop/metrics?failure_window=0d", "failure_window:"},
	} {
		status, body := vera.get(strings.ReplaceAll(c.path, "&amp;", "&"))
		if status != http.StatusBadRequest || !strings.Contains(body, c.want) || !strings.Contains(body, `class="flash bad" role="alert"`) {
			t.Errorf("GET %s: %d, want 400 saying %q:\n%s", c.path, status, c.want, body)
		}
	}

	outsider := signInPages(t, h.srv, "outsider", nil)
	for _, c := range []struct {
		who  *pageClient
		path string
	}{
		{outsider, "/ui/projects/shop/metrics"},
		{outsider, "/ui/projects/shop/apps/web/metrics"},
		{vera, "/ui/projects/nowhere/metrics"},
		{vera, "/ui/projects/shop/apps/nothing/metrics"},
		{ann, "/ui/projects/shop/apps/web/metrics"},
	} {
		if status, body := c.who.get(c.path); status != http.StatusNotFound || !strings.Contains(body, "not found") {
			t.Errorf("GET %s: %d, want 404:\n%.400s", c.path, status, body)
		}
	}
}
