package ui_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/httpapi"
	"github.com/gatehousehq/gatehouse/internal/browser"
	"github.com/gatehousehq/gatehouse/internal/testbed"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

// TestBrowserApproveDeployRollback is the workflow in a real browser against a real server
// and cluster: alice (deployer) deploys to dev and requests approval for prod; her request
// page offers no approve button and a forged approve POST is refused; bob (approver) finds
// it in his inbox and approves; alice deploys to prod and watches it live; history shows it,
// and a rollback on dev goes through. Screenshots of the main pages are saved.
func TestBrowserApproveDeployRollback(t *testing.T) {
	cluster := testbed.StartT(t, testbed.Options{Nodes: 1}) // one cluster: each engine deploys to namespaces of its own
	testdb.ForEach(t, func(t *testing.T, engine string) { browserApproveDeployRollback(t, engine, cluster) })
}

func browserApproveDeployRollback(t *testing.T, engine string, cluster *testbed.Cluster) {
	srv := testserver.StartDeploying(t, engine)
	srv.Setup(
		testserver.Post("/api/v1/projects", gatehouse.ProjectCreate{Name: "shop"}),
		testserver.Post("/api/v1/clusters", gatehouse.ClusterCreate{Name: "k", Kubeconfig: gatehouse.OutgoingSecret(string(cluster.Kubeconfig()))}),
		testserver.Post("/api/v1/projects/shop/environments", gatehouse.EnvironmentCreate{Name: "dev", Cluster: "k", Namespace: "shop-dev-" + engine}),
		testserver.Post("/api/v1/projects/shop/environments", gatehouse.EnvironmentCreate{Name: "prod", Cluster: "k", Namespace: "shop-prod-" + engine}),
		testserver.Post("/api/v1/projects/shop/apps", gatehouse.AppCreate{Name: "web", Values: "replicas: 1\n"}),
		testserver.Put("/api/v1/projects/shop/apps/web/pipeline", gatehouse.PipelineSet{Stages: []gatehouse.Stage{{Environment: "dev"}, {Environment: "prod", After: "dev"}}}),
		testserver.Post("/api/v1/projects/shop/apps/web/artifacts", gatehouse.ArtifactCreate{Image: "registry.example.com/web:1.0@" + digestOf("aa"), Commit: "c0ffee1"}),
		testserver.Post("/api/v1/projects/shop/apps/web/artifacts", gatehouse.ArtifactCreate{Image: "registry.example.com/web:1.1@" + digestOf("bb"), Commit: "c0ffee2"}),
	)
	srv.Person("alice", "deployer@project:shop")
	srv.Person("bob", "image-approver@project:shop")
	srv.Setup(testserver.Post("/api/v1/policies", gatehouse.PolicySpec{Name: "prod-gate", Scope: "project:shop/env:prod", Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}}))
	alice, bob := browser.New(t), browser.New(t)
	signIn(t, alice, srv.URL, "alice")
	signIn(t, bob, srv.URL, "bob")
	browser.Screenshot(t, alice, "home")

	app := srv.URL + "/ui/projects/shop/apps/web"
	deploy := func(env, digest string) string {
		t.Helper()
		browser.Do(t, alice, "deploy "+env,
			chromedp.Navigate(fmt.Sprintf("%s/deploy?env=%s&digest=%s", app, env, digest)),
			chromedp.Click(chromedp.CSS(`button[value=deploy]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-state].ok, [data-state].bad`)))
		state := browser.Get(t, alice, "state", chromedp.Text(chromedp.CSS(`[data-state]`)))
		if state != "succeeded" {
			t.Fatalf("deployment to %s: %s", env, browser.Get(t, alice, "page", chromedp.Text(chromedp.CSS(`main`))))
		}
		return browser.Get(t, alice, "location", chromedp.Location())
	}
	deploy("dev", digestOf("aa"))
	browser.Screenshot(t, alice, "deployment")

	// alice asks for prod.
	browser.Do(t, alice, "request approval",
		chromedp.Navigate(fmt.Sprintf("%s/deploy?env=prod&digest=%s", app, digestOf("aa"))),
		chromedp.WaitVisible(chromedp.CSS(`#comment`)))
	browser.Screenshot(t, alice, "deploy-preview")
	browser.Do(t, alice, "request approval",
		chromedp.SendKeys(chromedp.CSS(`#comment`), "release 1.0"),
		chromedp.SendKeys(chromedp.CSS(`#notify`), "bob"),
		chromedp.Click(chromedp.CSS(`button[value=request]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-approval-state]`)))
	reqURL := browser.Get(t, alice, "location", chromedp.Location())
	page := browser.Get(t, alice, "request page", chromedp.OuterHTML(chromedp.CSS(`main`)))
	if strings.Contains(page, "/approve\"") || strings.Contains(page, ">Approve<") || !strings.Contains(page, "Cancel the request") {
		t.Fatalf("the requester's page offers approval or no cancel:\n%s", page)
	}
	id := regexp.MustCompile(`/ui/approvals/(\d+)`).FindStringSubmatch(reqURL)[1]
	// A forged approve POST from alice's session is refused.
	if status := postAs(t, alice, srv.URL, "/ui/approvals/"+id+"/approve", page); status != http.StatusForbidden {
		t.Fatalf("alice's own approve POST: %d, want 403", status)
	}

	// bob approves from his inbox.
	browser.Do(t, bob, "inbox", chromedp.Navigate(srv.URL+"/ui/approvals"), chromedp.WaitVisible(chromedp.CSS(`a[href="/ui/approvals/`+id+`"]`)))
	browser.Screenshot(t, bob, "approvals-inbox")
	browser.Do(t, bob, "approve",
		chromedp.Click(chromedp.CSS(`a[href="/ui/approvals/`+id+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`button.approve`)))
	browser.Screenshot(t, bob, "approval-review")
	browser.Do(t, bob, "approve",
		chromedp.SendKeys(chromedp.CSS(`#comment`), "lgtm"),
		chromedp.Click(chromedp.CSS(`button.approve`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash.ok`)))
	if st := browser.Get(t, bob, "state", chromedp.Text(chromedp.CSS(`[data-approval-state]`))); st != "approved" {
		t.Fatalf("after bob's approval the request is %s", st)
	}

	// alice deploys the approved digest to prod; the pipeline shows it.
	deploy("prod", digestOf("aa"))
	browser.Do(t, alice, "pipeline", chromedp.Navigate(app), chromedp.WaitVisible(chromedp.CSS(`[data-stage=prod]`)))
	if prod := browser.Get(t, alice, "prod stage", chromedp.Text(chromedp.CSS(`[data-stage=prod]`))); !strings.Contains(prod, shortOf("aa")) || !strings.Contains(prod, "succeeded") {
		t.Fatalf("prod stage: %s", prod)
	}
	browser.Screenshot(t, alice, "pipeline")

	// dev moves on to 1.1, then rolls back to 1.0 from the history.
	deploy("dev", digestOf("bb"))
	browser.Do(t, alice, "history", chromedp.Navigate(app+"/history?env=dev"), chromedp.WaitVisible(chromedp.CSS(`main table`)))
	browser.Screenshot(t, alice, "history")
	hist := browser.Get(t, alice, "history", chromedp.Text(chromedp.CSS(`main`)))
	if !strings.Contains(hist, shortOf("aa")) || !strings.Contains(hist, shortOf("bb")) {
		t.Fatalf("history lacks the deployments:\n%s", hist)
	}
	browser.Do(t, alice, "rollback",
		chromedp.Navigate(app+"/deployments/1/rollback"),
		chromedp.WaitVisible(chromedp.CSS(`main form button`)))
	browser.Screenshot(t, alice, "rollback-confirm")
	browser.Do(t, alice, "rollback",
		chromedp.Click(chromedp.CSS(`main form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-state].ok, [data-state].bad`)))
	if kind := browser.Get(t, alice, "rollback page", chromedp.Text(chromedp.CSS(`main`))); !strings.Contains(kind, "rollback") || !strings.Contains(kind, "succeeded") {
		t.Fatalf("rollback deployment:\n%s", kind)
	}
}

func digestOf(hex2 string) string { return "sha256:" + strings.Repeat(hex2, 32) }
func shortOf(hex2 string) string  { return strings.Repeat(hex2, 6) }

func signIn(t *testing.T, ctx context.Context, base, user string) {
	t.Helper()
	browser.Do(t, ctx, "sign in "+user,
		chromedp.Navigate(base+"/ui/approvals"), // a page that needs a session sends us to sign in
		chromedp.WaitVisible(chromedp.CSS(`#username`)),
		chromedp.SendKeys(chromedp.CSS(`#username`), user),
		chromedp.SendKeys(chromedp.CSS(`#password`), testserver.Password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`form.who`)))
	if loc := browser.Get(t, ctx, "location", chromedp.Location()); !strings.HasSuffix(loc, "/ui/approvals") {
		t.Fatalf("after signing in %s is at %s, not back where they started", user, loc)
	}
}

// postAs posts the page's CSRF token with the browser's session cookie, as a hand-made form
// submission would, and returns the status.
func postAs(t *testing.T, ctx context.Context, base, path, page string) int {
	t.Helper()
	csrf := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(page)[1]
	sess := browser.Cookie(t, ctx, base, httpapi.SessionCookie)
	req, _ := http.NewRequest("POST", base+path, strings.NewReader(url.Values{"csrf_token": {csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: httpapi.SessionCookie, Value: sess})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
