package ui_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

var (
	hookImage   = "r.example.com/migrate@sha256:" + strings.Repeat("3", 64)
	chartDigest = "sha256:" + strings.Repeat("4", 64)
	chartYAML   = "source: repository\nurl: https://charts.example.com\nname: web\nversion: 1.2.3\ndigest: " + chartDigest + "\n"
	hooksYAML   = "pre_deploy:\n- name: migrate\n  image: " + hookImage + "\n"
)

// TestDraftPagesEveryKind opens a draft of every settings kind and of policies through the
// API and reads each page as its author: what it changes by path, how a policy draft
// loosens its policy, the lock-out banner where nobody could meet a policy's own rules; and
// the author's approvals inbox lists them all with their kind.
func TestDraftPagesEveryKind(t *testing.T) { testdb.ForEach(t, draftPagesEveryKind) }

func draftPagesEveryKind(t *testing.T, engine string) {
	srv, alice, _ := gatedWorld(t, engine)
	srv.Person("carol", "image-approver@project:shop/env:prod") // nobody approves images of dev
	srv.Person("dave", "image-approver@project:shop/env:prod")
	srv.Setup(
		testserver.Post("/api/v1/policies", gatehouse.PolicySpec{Name: "prod-gate", Scope: "project:shop/env:prod", Rules: []gatehouse.Rule{{Kind: "any", Count: 2}}}),
		testserver.Post("/api/v1/policies", gatehouse.PolicySpec{Name: "dev-gate", Scope: "project:shop/env:dev", Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}}),
	)
	api := srv.Login("alice")
	var live gatehouse.Live
	srv.Must(api.Do(context.Background(), "GET", "/api/v1/live", url.Values{"kind": {"pipeline"}, "project": {"shop"}, "app": {"web"}}, nil, &live))
	i := strings.LastIndex(live.Content, "trigger: manual") // prod's stage, the second
	prodAuto := live.Content[:i] + "trigger: auto" + live.Content[i+len("trigger: manual"):]
	gate := "name: prod-gate\nkind: image\nscope: project:shop/env:prod\nrules:\n- kind: any\n  count: 1\n"

	for _, c := range []struct {
		ref     gatehouse.DraftRef
		content string
		want    []string
	}{
		{gatehouse.DraftRef{Kind: gatehouse.DraftEnvironment, Project: "shop", Environment: "prod"}, placement("shop-2"),
			[]string{"placement of environment shop/prod", "~ namespace: shop → shop-2", "prod-config v1"}},
		{gatehouse.DraftRef{Kind: gatehouse.DraftChart, Project: "shop", App: "web"}, chartYAML,
			[]string{"chart of app shop/web", "~ source: builtin → repository", "&#43; digest: " + chartDigest, "&#43; version: 1.2.3"}},
		{gatehouse.DraftRef{Kind: gatehouse.DraftHooks, Project: "shop", App: "web"}, hooksYAML,
			[]string{"hooks of app shop/web", "pre_deploy", hookImage}},
		{gatehouse.DraftRef{Kind: gatehouse.DraftPipeline, Project: "shop", App: "web"}, prodAuto,
			[]string{"pipeline of app shop/web", "stages[1].trigger: manual → auto"}},
		{gatehouse.DraftRef{Kind: gatehouse.DraftPolicy, Policy: "prod-gate"}, gate,
			[]string{"policy prod-gate", "How it loosens the policy", "asks for less than 2 approvers", "prod-gate v1"}},
		{gatehouse.DraftRef{Kind: gatehouse.DraftPolicy, Policy: "dev-gate"}, "",
			[]string{"policy dev-gate", "deletes the policy", "lock-out rule", "dev-gate (lock-out)"}},
	} {
		var d gatehouse.Draft
		srv.Must(api.Do(context.Background(), "POST", "/api/v1/drafts", nil, gatehouse.DraftCreate{DraftRef: c.ref,
			ConfigWrite: gatehouse.ConfigWrite{Content: c.content, Comment: "why not"}}, &d))
		page := alice.page(fmt.Sprintf("/ui/drafts/%d", d.ID))
		haContains(t, string(c.ref.Kind)+" draft page", page, append(c.want, fmt.Sprintf("Draft %d: ", d.ID))...)
		if c.ref.Kind != gatehouse.DraftPolicy || c.ref.Policy != "dev-gate" {
			if strings.Contains(page, "lock-out rule") {
				t.Errorf("the %s draft claims the lock-out rule:\n%s", c.ref, page)
			}
		}
	}
	inbox := alice.page("/ui/approvals")
	for _, kind := range []string{"environment", "chart", "hooks", "pipeline", "policy"} {
		haContains(t, "alice's inbox", inbox, "<td>"+kind+"</td>")
	}
}

// TestReviewShowsChartAndHooks: the deploy preview and the approval review show the chart
// (source, version, digest) and the hooks' images that would run, and how they changed since
// the previous deployment.
func TestReviewShowsChartAndHooks(t *testing.T) { testdb.ForEach(t, reviewShowsChartAndHooks) }

func reviewShowsChartAndHooks(t *testing.T, engine string) {
	srv := haWorld(t, engine) // deployments 1 and 2 of dev ran the builtin chart and no hooks
	srv.Setup(
		setChartAndHooks(t),
		testserver.Post("/api/v1/policies", gatehouse.PolicySpec{Name: "prod-gate", Scope: "project:shop/env:prod", Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}}),
	)
	srv.Person("alice", "deployer@project:shop")
	alice := signInPages(t, srv, "alice", nil)
	runs := []string{"repository chart <code>https://charts.example.com</code> web", "version <code>1.2.3</code>",
		"digest <code>" + chartDigest + "</code>", "migrate <code>" + hookImage + "</code>", "post-deploy: none"}

	preview := alice.page("/ui/projects/shop/apps/web/deploy?env=dev&digest=" + haDigest2)
	haContains(t, "dev preview", preview, append(runs, "Settings changed since deployment 2", "data-settings", "~ chart.source: builtin → repository",
		"chart.version: 1.2.3", hookImage)...)
	var req gatehouse.ApprovalRequest
	srv.Must(srv.Login("alice").Do(context.Background(), "POST", "/api/v1/projects/shop/apps/web/approvals", nil,
		gatehouse.ApprovalCreate{Environment: "prod", Digest: haDigest2}, &req))
	review := alice.page(fmt.Sprintf("/ui/approvals/%d", req.ID))
	haContains(t, "approval review", review, append(runs, "Settings changed since nothing (first deployment)", "&#43; chart.source: repository")...)
}

// setChartAndHooks is the setup step that gives app shop/web the chart of chartYAML and the
// hooks of hooksYAML (directly: before any policy protects them).
func setChartAndHooks(t *testing.T) testserver.Step {
	t.Helper()
	var chart gatehouse.Chart
	var hooks gatehouse.Hooks
	if err := gatehouse.ParseSetting("chart", chartYAML, &chart); err != nil {
		t.Fatal(err)
	}
	if err := gatehouse.ParseSetting("hooks", hooksYAML, &hooks); err != nil {
		t.Fatal(err)
	}
	return testserver.Step{Method: "PATCH", Path: "/api/v1/projects/shop/apps/web", Body: gatehouse.AppUpdate{Chart: &chart, Hooks: &hooks}}
}
