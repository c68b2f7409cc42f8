package ui_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/browser"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

// a11yWorld is haWorld (project shop with dev and prod, app web, two artifacts, two
// deployments to dev) plus what the other pages show: a chart and hooks that the deployments
// did not run, an image policy and a config policy on prod, a group, alice's open approval
// request for prod and her proposed draft of the prod configmap. It returns the request's
// and the draft's IDs.
func a11yWorld(t *testing.T) (srv *testserver.Server, request, draft int64) {
	t.Helper()
	srv = haWorld(t, "sqlite") // the pages' markup does not depend on the engine
	// People get their roles before the policies that would count them exist.
	alice := srv.Person("alice", "admin@project:shop", "deployer@project:shop")
	srv.Setup(
		setChartAndHooks(t),
		testserver.Post("/api/v1/policies", gatehouse.PolicySpec{Name: "prod-gate", Scope: "project:shop/env:prod", Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}}),
		testserver.Post("/api/v1/policies", gatehouse.PolicySpec{Name: "prod-config", Kind: gatehouse.PolicyConfig, Scope: "project:shop/env:prod",
			Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}}),
		testserver.Post("/api/v1/groups", gatehouse.GroupCreate{Name: "sre", Description: "Site reliability", Members: []string{"admin"}}),
	)
	ctx := context.Background()
	var req gatehouse.ApprovalRequest
	srv.Must(alice.Do(ctx, "POST", "/api/v1/projects/shop/apps/web/approvals", nil,
		gatehouse.ApprovalCreate{Environment: "prod", Digest: haDigest2, Comment: "release 2", Labels: map[string]string{"ticket": "OPS-1"}}, &req))
	var d gatehouse.Draft
	srv.Must(alice.Do(ctx, "POST", "/api/v1/projects/shop/apps/web/environments/prod/config/configmap/drafts", nil,
		gatehouse.ConfigWrite{Content: "LOG_LEVEL: info\n", Comment: "quieter logs"}, &d))
	srv.Must(alice.Do(ctx, "POST", fmt.Sprintf("/api/v1/drafts/%d/propose", d.ID), nil, gatehouse.DraftPropose{Comment: "please"}, nil))
	return srv, req.ID, d.ID
}

// TestAccessibility audits the web UI's pages in a real browser, signed out (the sign-in
// page, also after a refused sign-in) and as the super-admin (every other page): form
// controls have labels, links, buttons and table headers have names, the tab order is the
// document's, text has enough contrast, Tab reaches every control in the header and <main>
// and shows where the focus is, and each page has a language, one <main> and an <h1> (see
// browser.StaticProblems and browser.KeyboardWalk). Every page's problems are listed;
// screenshots of the pages TestBrowserApproveDeployRollback does not take are saved.
func TestAccessibility(t *testing.T) {
	srv, request, draft := a11yWorld(t)
	b := browser.New(t)
	const app = "/ui/projects/shop/apps/web"

	visit := func(name, path, screenshot string) {
		t.Helper()
		browser.Do(t, b, "open "+name, chromedp.Navigate(srv.URL+path), chromedp.WaitVisible(chromedp.CSS(`main`)))
		if screenshot != "" {
			browser.Screenshot(t, b, screenshot)
		}
		browser.CheckAccessible(t, b, name)
	}

	visit("login", "/ui/login", "login")
	browser.Do(t, b, "sign in with a wrong password",
		chromedp.SendKeys(chromedp.CSS(`#username`), "admin"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "not the password"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash.bad`)))
	browser.CheckAccessible(t, b, "login, refused")
	signIn(t, b, srv.URL, "admin")
	for _, p := range []struct{ name, path, screenshot string }{
		{"home", "/ui/", ""},
		{"pipeline", app, ""},
		{"deploy preview", fmt.Sprintf("%s/deploy?env=dev&digest=%s", app, haDigest1), "deploy-preview-settings"},
		{"deployment", app + "/deployments/2", ""},
		{"approvals inbox", "/ui/approvals", ""},
		{"approval review", fmt.Sprintf("/ui/approvals/%d", request), "approval-review-settings"},
		{"config", app + "/config", "config"},
		{"config edit", app + "/config/edit?env=dev&kind=configmap", "config-edit"},
		{"config edit pipeline", app + "/config/edit?kind=pipeline", ""},
		{"config edit secrets", app + "/config/edit?env=dev&kind=secrets", ""},
		{"config compare", app + "/config/compare?from=dev&to=prod", ""},
		{"drafts", "/ui/drafts", "drafts"},
		{"draft", fmt.Sprintf("/ui/drafts/%d", draft), "draft"},
		{"history", app + "/history", ""},
		{"metrics, nothing marked production", "/ui/projects/shop/metrics", ""}, // TestAccessibilityMetrics audits them with data
		{"app metrics, in dev", app + "/metrics?environment=dev", ""},
		{"history compare", app + "/history/compare?from=1&to=2", ""},
		{"rollback", app + "/deployments/1/rollback", ""},
		{"error", "/ui/projects/shop/apps/nothing", ""},
		{"audit", "/ui/audit", "audit"},
		{"access", "/ui/access", "access"},
		{"access tokens", "/ui/access/tokens", ""},
	} {
		visit(p.name, p.path, p.screenshot)
	}

	// A new token shows once, in a read-only field of its own.
	browser.Do(t, b, "create a token",
		chromedp.SendKeys(chromedp.CSS(`#name`), "laptop"),
		chromedp.Click(chromedp.CSS(`main form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#new-token`)))
	browser.CheckAccessible(t, b, "access tokens, new token")
	visit("access tokens with two", "/ui/access/tokens", "access-tokens")

	// A protected setting edited on its page becomes a draft, listed in the inbox as mine.
	visit("config edit placement", app+"/config/edit?env=prod&kind=environment", "config-edit-placement")
	content := browser.Get(t, b, "placement", chromedp.Value(chromedp.CSS(`#content`)))
	browser.Do(t, b, "draft prod's placement",
		chromedp.SetValue(chromedp.CSS(`#content`), strings.Replace(content, "namespace: shop-prod", "namespace: shop-next", 1)),
		chromedp.SendKeys(chromedp.CSS(`#comment`), "a namespace of its own"),
		chromedp.Click(chromedp.CSS(`main form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`main .flash.ok`)))
	browser.Screenshot(t, b, "draft-placement")
	browser.CheckAccessible(t, b, "draft of a placement")
	visit("approvals inbox, my drafts", "/ui/approvals", "approvals-inbox-drafts")

	// The server judges a change of dev's stage alone unprotected: the form offers saving it directly.
	browser.Do(t, b, "draft a change of dev's stage",
		chromedp.Navigate(srv.URL+app+"/config/edit?kind=pipeline"),
		chromedp.WaitVisible(chromedp.CSS(`#content`)))
	content = browser.Get(t, b, "pipeline", chromedp.Value(chromedp.CSS(`#content`)))
	browser.Do(t, b, "draft a change of dev's stage",
		chromedp.SetValue(chromedp.CSS(`#content`), strings.Replace(content, "trigger: manual", "trigger: auto", 1)),
		chromedp.Click(chromedp.CSS(`main form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`main .flash.bad`)))
	browser.Screenshot(t, b, "config-edit-refused")
	browser.CheckAccessible(t, b, "config edit, refused")

	// Where a config policy protects dev, a rollback to other configuration is proposed.
	srv.Setup(testserver.Post("/api/v1/policies", gatehouse.PolicySpec{Name: "dev-config", Kind: gatehouse.PolicyConfig, Scope: "project:shop/env:dev",
		Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}}))
	visit("rollback, proposal", app+"/deployments/1/rollback", "rollback-propose")
	browser.Do(t, b, "propose the rollback",
		chromedp.SendKeys(chromedp.CSS(`#rb-comment`), "back to 1"),
		chromedp.Click(chromedp.CSS(`main form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`main .flash.ok`)))
	browser.Screenshot(t, b, "draft-rollback")
	browser.CheckAccessible(t, b, "draft of a rollback")
}
