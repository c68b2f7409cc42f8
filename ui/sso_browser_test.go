package ui_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehousehq/gatehouse/internal/browser"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// TestBrowserSingleSignOn: in a real browser, the sign-in page offers the provider; its
// button leads to the provider's login form, and after it the person is signed in to
// Gatehouse on the page they first asked for.
func TestBrowserSingleSignOn(t *testing.T) { testdb.ForEach(t, browserSingleSignOn) }

func browserSingleSignOn(t *testing.T, engine string) {
	w := startSSO(t, engine, nil, carol)
	b := browser.New(t)
	browser.Do(t, b, "open a page",
		chromedp.Navigate(w.srv.URL+"/ui/approvals"),
		chromedp.WaitVisible(chromedp.CSS(`#sso`)))
	browser.Screenshot(t, b, "login-sso")
	browser.Do(t, b, "single sign-on",
		chromedp.Click(chromedp.CSS(`#sso`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), carol.Username),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), idpPassword),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`form.who`)))
	if loc := browser.Get(t, b, "location", chromedp.Location()); !strings.HasSuffix(loc, "/ui/approvals") {
		t.Fatalf("after single sign-on the browser is at %s", loc)
	}
	// Read by script, not by node: the sign-in's redirects may render the page again after
	// form.who first showed, and a node id from before is gone then.
	if who := browser.Get(t, b, "who", chromedp.Evaluate[string](`document.querySelector('form.who').innerText`)); !strings.Contains(who, "carol.smith") {
		t.Fatalf("signed in as %q", who)
	}
}
