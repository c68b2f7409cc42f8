package ui_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehousehq/gatehouse/internal/browser"
)

// TestAccessibilityMetrics audits the metrics pages in a real browser as TestAccessibility
// audits the others, over metricsWorld's history (deployments, a failure, a rollback,
// approvals and a draft, so no chart is empty): the project's page and the app's, the form
// used to choose another period, the empty state and a bad parameter. The charts are drawn
// (the page's Content-Security-Policy lets them through) and screenshots of both pages are
// saved.
func TestAccessibilityMetrics(t *testing.T) {
	h := metricsWorld(t, "sqlite") // the pages' markup does not depend on the engine
	b := browser.New(t)
	signIn(t, b, h.srv.URL, "vera")
	visit := func(name, path, screenshot string) {
		t.Helper()
		browser.Do(t, b, "open "+name, chromedp.Navigate(h.srv.URL+path), chromedp.WaitVisible(chromedp.CSS(`main`)))
		if screenshot != "" {
			browser.Screenshot(t, b, screenshot)
		}
		browser.CheckAccessible(t, b, name)
	}
	// drawn counts the charts whose bars the browser laid out with a height.
	drawn := func() int {
		t.Helper()
		return browser.Get(t, b, "charts drawn", chromedp.Evaluate[int](`[...document.querySelectorAll('svg.chart')].filter(
			s => s.getBoundingClientRect().height > 0 && [...s.querySelectorAll('rect')].some(r => r.getBBox().height > 0)).length`))
	}

	visit("metrics of a project", "/ui/projects/shop/metrics", "metrics-project")
	if n := drawn(); n != 5 {
		t.Errorf("%d charts drawn on the project's page, want 5", n)
	}
	browser.Do(t, b, "open the weekly numbers", chromedp.Click(chromedp.CSS(`section.figure details summary`)))
	if rows := browser.Get(t, b, "weekly numbers", chromedp.Text(chromedp.CSS(`section.figure details table`))); !strings.Contains(rows, "Deployments") {
		t.Errorf("the weekly numbers do not open: %q", rows)
	}
	browser.CheckAccessible(t, b, "metrics of a project, numbers open")

	visit("metrics of an app", "/ui/projects/shop/apps/web/metrics", "metrics-app")
	if n := drawn(); n != 5 {
		t.Errorf("%d charts drawn on the app's page, want 5", n)
	}
	// The form chooses the period and the environment.
	browser.Do(t, b, "choose 90 days of dev",
		chromedp.SetValue(chromedp.CSS(`#since`), "90d"),
		chromedp.SetValue(chromedp.CSS(`#environment`), "dev"),
		chromedp.Click(chromedp.CSS(`main form button[type=submit]`)),
		// Only the new page marks dev selected in its markup.
		chromedp.WaitReady(chromedp.CSS(`#environment option[value=dev][selected]`)))
	if loc := browser.Get(t, b, "location", chromedp.Location()); !strings.Contains(loc, "since=90d") || !strings.Contains(loc, "environment=dev") {
		t.Errorf("the form went to %s", loc)
	}
	if scope := browser.Get(t, b, "scope", chromedp.Text(chromedp.CSS(`[data-scope]`))); !strings.Contains(scope, "deployments to dev") {
		t.Errorf("after choosing dev the page counts: %s", scope)
	}
	browser.CheckAccessible(t, b, "metrics of an app in dev")
	// The second form counts from a date.
	from := time.Now().AddDate(0, 0, -10).UTC().Format(time.DateOnly)
	browser.Do(t, b, "choose dates",
		chromedp.SetValue(chromedp.CSS(`#from`), from),
		chromedp.Click(chromedp.CSS(`main form + form button[type=submit]`)),
		chromedp.WaitReady(chromedp.CSS(`#from[value="`+from+`"]`)))
	if scope := browser.Get(t, b, "scope", chromedp.Text(chromedp.CSS(`[data-scope]`))); !strings.Contains(scope, "from "+from+" 00:00 UTC") {
		t.Errorf("after choosing dates from %s the page counts: %s", from, scope)
	}

	visit("metrics, empty", "/ui/projects/shop/metrics?from=2020-01-01&to=2020-02-01", "metrics-empty")
	visit("metrics, bad period", "/ui/projects/shop/metrics?since=30x", "")
	if msg := browser.Get(t, b, "error", chromedp.Text(chromedp.CSS(`[role=alert]`))); !strings.Contains(msg, "since:") {
		t.Errorf("a bad period says %q", msg)
	}
}
