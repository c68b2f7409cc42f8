package ui_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/client"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// metricsHistory drives a delivery history through the real API and store: artifacts pushed,
// approvals requested and voted, deployments claimed and ended as the worker would (no worker
// runs), the store's clock moved forward between the steps.
type metricsHistory struct {
	t          *testing.T
	srv        *testserver.Server
	bob, carol *client.Client
	ahead      time.Duration // how far the story moved the store's clock
}

// metricsWorld is project shop (environments dev and prod, prod marked production; apps web
// and api; prod gated by prod-gate, one approval, rollbacks pre-approved, and its
// configuration by prod-config) with three weeks of history, and project lab with no
// production environment. People: bob and carol (image approvers; bob also approves
// configuration), vera (viewer of shop and lab), ann (viewer of shop's app api only), and outsider
// (no roles). The history, in order:
//
//	web  a1  dev: deployed directly, succeeded (not production: not counted by default)
//	web  a1  commit 1h before the push; bob approves after 30m; ready 15m later
//	         (2 days on)
//	web  a2  no commit time; carol approves after 2h; failed after 5m
//	web  a3  (1h on) commit 20m before the push; bob approves after 15m; ready 15m later,
//	         restoring a2
//	         (7 days on)
//	api  b1  commit 3h before; bob approves after 1h; ready 13m later
//	web  a4  commit 2h before; carol approves after 3h; ready 15m later; an hour on a
//	         rollback to a3 undoes it (a failed change), ready 5m later
//	web      a configmap draft for prod, proposed, approved by bob 40m on, published 10m on
//	         (7 days on)
//	web  a5  commit 30m before; bob approves after 10m; ready 11m later
//
// Prod saw 7 deployments end (web 6, api 1), 2 of them failed changes (a2, a4), both
// restored.
func metricsWorld(t *testing.T, engine string) *metricsHistory {
	t.Helper()
	srv := testserver.Start(t, engine)
	srv.Setup(
		testserver.Post("/api/v1/projects", gatehouse.ProjectCreate{Name: "shop"}),
		testserver.Post("/api/v1/projects", gatehouse.ProjectCreate{Name: "lab"}),
		testserver.Post("/api/v1/clusters", gatehouse.ClusterCreate{Name: "c1", Kubeconfig: gatehouse.OutgoingSecret(testdb.Kubeconfig)}),
		testserver.Post("/api/v1/projects/shop/environments", gatehouse.EnvironmentCreate{Name: "dev", Cluster: "c1", Namespace: "shop-dev"}),
		testserver.Post("/api/v1/projects/shop/environments", gatehouse.EnvironmentCreate{Name: "prod", Cluster: "c1", Namespace: "shop-prod", Production: true}),
		testserver.Post("/api/v1/projects/lab/environments", gatehouse.EnvironmentCreate{Name: "test", Cluster: "c1", Namespace: "lab-test"}),
	)
	for _, app := range []string{"web", "api"} {
		srv.Setup(
			testserver.Post("/api/v1/projects/shop/apps", gatehouse.AppCreate{Name: app}),
			testserver.Put("/api/v1/projects/shop/apps/"+app+"/pipeline", gatehouse.PipelineSet{Stages: []gatehouse.Stage{{Environment: "dev"}, {Environment: "prod"}}}),
		)
	}
	h := &metricsHistory{t: t, srv: srv}
	// People get their roles before the policies that would count them exist.
	h.bob = srv.Person("bob", "image-approver@project:shop", "config-approver@project:shop")
	h.carol = srv.Person("carol", "image-approver@project:shop")
	srv.Person("vera", "viewer@project:shop", "viewer@project:lab")
	srv.Person("ann", "viewer@project:shop/app:api")
	srv.Person("outsider")
	srv.Setup(
		testserver.Post("/api/v1/policies", gatehouse.PolicySpec{Name: "prod-gate", Scope: "project:shop/env:prod",
			Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}, Rollback: gatehouse.RollbackPreApproved}),
		testserver.Post("/api/v1/policies", gatehouse.PolicySpec{Name: "prod-config", Kind: gatehouse.PolicyConfig, Scope: "project:shop/env:prod",
			Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}}),
	)

	a1 := h.push("web", 'a', 1, time.Hour)
	h.deploy("web", a1, "dev", 0, gatehouse.StateSucceeded)
	h.ship("web", a1, h.bob, 30*time.Minute, 5*time.Minute, 10*time.Minute, gatehouse.StateSucceeded)
	h.advance(2 * 24 * time.Hour)
	h.ship("web", h.push("web", 'a', 2, 0), h.carol, 2*time.Hour, 0, 5*time.Minute, gatehouse.StateFailed)
	h.advance(time.Hour)
	a3 := h.ship("web", h.push("web", 'a', 3, 20*time.Minute), h.bob, 15*time.Minute, 5*time.Minute, 10*time.Minute, gatehouse.StateSucceeded)
	h.advance(7 * 24 * time.Hour)
	h.ship("api", h.push("api", 'b', 1, 3*time.Hour), h.bob, time.Hour, 5*time.Minute, 8*time.Minute, gatehouse.StateSucceeded)
	h.ship("web", h.push("web", 'a', 4, 2*time.Hour), h.carol, 3*time.Hour, 5*time.Minute, 10*time.Minute, gatehouse.StateSucceeded)
	h.advance(time.Hour)
	var rb gatehouse.Deployment
	h.do(srv.Admin, "POST", fmt.Sprintf("/api/v1/projects/shop/apps/web/deployments/%d/rollback", a3.ID), nil, &rb)
	h.run(&rb, 5*time.Minute, gatehouse.StateSucceeded)
	h.publishDraft(40*time.Minute, 10*time.Minute)
	h.advance(7 * 24 * time.Hour)
	h.ship("web", h.push("web", 'a', 5, 30*time.Minute), h.bob, 10*time.Minute, 5*time.Minute, 6*time.Minute, gatehouse.StateSucceeded)
	h.advance(time.Hour)
	return h
}

func (h *metricsHistory) advance(d time.Duration) {
	h.srv.Advance(d)
	h.ahead += d
}

func (h *metricsHistory) do(c *client.Client, method, path string, in, out any) {
	h.t.Helper()
	if err := c.Do(context.Background(), method, path, nil, in, out); err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
}

// push registers artifact n of the app (digest made of the letter), committed commitAgo
// before now (0: without a commit time), and returns its digest.
func (h *metricsHistory) push(app string, letter byte, n int, commitAgo time.Duration) string {
	h.t.Helper()
	digest := fmt.Sprintf("sha256:%c%063d", letter, n)
	in := gatehouse.ArtifactCreate{Image: "r.example.com/" + app + "@" + digest}
	if commitAgo > 0 {
		at := time.Now().Add(h.ahead - commitAgo)
		in.CommitTime = &at
	}
	h.do(h.srv.Admin, "POST", "/api/v1/projects/shop/apps/"+app+"/artifacts", in, nil)
	return digest
}

// ship requests approval of the digest on prod, has the approver approve it after wait,
// deploys it after queue and ends its deployment after run.
func (h *metricsHistory) ship(app, digest string, approver *client.Client, wait, queue, run time.Duration, outcome gatehouse.DeploymentState) *gatehouse.Deployment {
	h.t.Helper()
	var req gatehouse.ApprovalRequest
	h.do(h.srv.Admin, "POST", "/api/v1/projects/shop/apps/"+app+"/approvals", gatehouse.ApprovalCreate{Environment: "prod", Digest: digest}, &req)
	h.advance(wait)
	h.do(approver, "POST", fmt.Sprintf("/api/v1/approvals/%d/approve", req.ID), gatehouse.Decision{}, nil)
	h.advance(queue)
	return h.deploy(app, digest, "prod", run, outcome)
}

// deploy deploys the digest to the environment and ends the deployment after run.
func (h *metricsHistory) deploy(app, digest, env string, run time.Duration, outcome gatehouse.DeploymentState) *gatehouse.Deployment {
	h.t.Helper()
	var d gatehouse.Deployment
	h.do(h.srv.Admin, "POST", "/api/v1/projects/shop/apps/"+app+"/deployments", gatehouse.DeploymentCreate{Environment: env, Digest: digest}, &d)
	h.run(&d, run, outcome)
	return &d
}

// run claims the deployment as a worker would and moves it to the outcome after d.
func (h *metricsHistory) run(d *gatehouse.Deployment, after time.Duration, outcome gatehouse.DeploymentState) {
	h.t.Helper()
	ctx := context.Background()
	if _, err := h.srv.DB.ClaimDeployment(ctx, d.ID, "w", time.Hour); err != nil {
		h.t.Fatal(err)
	}
	h.advance(after)
	path := map[gatehouse.DeploymentState][]gatehouse.DeploymentState{
		gatehouse.StateSucceeded: {gatehouse.StateVerifying, gatehouse.StatePostDeploy, gatehouse.StateSucceeded},
		gatehouse.StateFailed:    {gatehouse.StateFailed},
	}[outcome]
	if err := h.srv.DB.AdvanceDeployment(ctx, d.ID, "w", sqlstore.Outcome{}, path...); err != nil {
		h.t.Fatal(err)
	}
}

// publishDraft proposes a draft of web's prod configmap, has bob approve it after review and
// publishes it after publish.
func (h *metricsHistory) publishDraft(review, publish time.Duration) {
	h.t.Helper()
	var d gatehouse.Draft
	h.do(h.srv.Admin, "POST", "/api/v1/projects/shop/apps/web/environments/prod/config/configmap/drafts", gatehouse.ConfigWrite{Content: "LOG_LEVEL: info\n"}, &d)
	h.do(h.srv.Admin, "POST", fmt.Sprintf("/api/v1/drafts/%d/propose", d.ID), gatehouse.DraftPropose{}, &d)
	h.advance(review)
	h.do(h.bob, "POST", fmt.Sprintf("/api/v1/drafts/%d/approve", d.ID), gatehouse.Decision{Version: d.Version}, &d)
	h.advance(publish)
	h.do(h.srv.Admin, "POST", fmt.Sprintf("/api/v1/drafts/%d/publish", d.ID), nil, nil)
}
