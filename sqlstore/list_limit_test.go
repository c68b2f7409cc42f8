package sqlstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// TestApprovalListsHoldBeforeTheLimit: with many more open requests in a busy project than a
// page holds, an approver of a quiet project finds exactly theirs on the first page of
// "waiting for me", and a viewer of it exactly its requests: what the caller may not see or
// vote on never takes a place on the page.
func TestApprovalListsHoldBeforeTheLimit(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		f.world()
		approvals := sqlstore.NewApprovalService(f.db)
		quinn := f.person("quinn", "image-approver@project:shop")
		vic := f.person("vic", "viewer@project:shop")
		_, err := f.projects.CreateProject(f.admin, gatehouse.ProjectCreate{Name: "big"})
		f.must(err)
		_, err = f.envs.CreateEnvironment(f.admin, "big", gatehouse.EnvironmentCreate{Name: "prod", Cluster: "c1", Namespace: "big-prod"})
		f.must(err)
		_, err = f.apps.CreateApp(f.admin, "big", gatehouse.AppCreate{Name: "svc"})
		f.must(err)
		for pa, app := range map[string]string{"shop": "web", "big": "svc"} {
			_, err := f.pipes.SetPipeline(f.admin, pa, app, gatehouse.PipelineSet{Stages: []gatehouse.Stage{{Environment: "prod"}}})
			f.must(err)
		}
		for _, p := range []string{"shop", "big"} {
			_, err := sqlstore.NewPolicyService(f.db).CreatePolicy(f.admin, gatehouse.PolicySpec{Name: p + "-gate", Scope: "project:" + p + "/env:prod",
				Rules: []gatehouse.Rule{{Kind: gatehouse.RuleAny, Count: 1}}})
			f.must(err)
		}
		request := func(project, app string, n int) {
			d := fmt.Sprintf("sha256:%064x", n)
			_, err := f.arts.CreateArtifact(f.admin, project, app, gatehouse.ArtifactCreate{Image: "r.example.com/" + app + "@" + d})
			f.must(err)
			_, err = approvals.RequestApproval(f.admin, project, app, gatehouse.ApprovalCreate{Environment: "prod", Digest: d})
			f.must(err)
		}
		for i := 0; i < 3; i++ {
			request("shop", "web", i)
		}
		for i := 0; i < 60; i++ {
			request("big", "svc", 1000+i)
		}
		for who, in := range map[string]struct {
			f    gatehouse.ApprovalFilter
			ctx  context.Context
			want int
		}{
			"quinn's inbox":  {gatehouse.ApprovalFilter{ForMe: true, Limit: 20}, quinn, 3},
			"vic's list":     {gatehouse.ApprovalFilter{Limit: 20}, vic, 3},
			"vic's inbox":    {gatehouse.ApprovalFilter{ForMe: true, Limit: 20}, vic, 0},
			"the admin list": {gatehouse.ApprovalFilter{Limit: 20}, f.admin, 20},
		} {
			got, err := gatehouse.Items(approvals.Approvals(in.ctx, in.f))
			f.must(err)
			if len(got) != in.want {
				t.Errorf("%s: %d requests, want %d", who, len(got), in.want)
			}
			for _, r := range got {
				if in.ctx != f.admin && r.Project != "shop" {
					t.Errorf("%s lists request %d of %s", who, r.ID, r.Project)
				}
			}
		}
		// A vote cast takes the request out of the voter's inbox, in the query.
		mine, err := gatehouse.Items(approvals.Approvals(quinn, gatehouse.ApprovalFilter{ForMe: true, Limit: 1}))
		f.must(err)
		_, err = approvals.Approve(quinn, mine[0].ID, gatehouse.Decision{})
		f.must(err)
		if after, err := gatehouse.Items(approvals.Approvals(quinn, gatehouse.ApprovalFilter{ForMe: true, Limit: 20})); err != nil || len(after) != 2 {
			t.Fatalf("after a vote: %d %v", len(after), err)
		}
	})
}

// TestDeploymentListHoldsBeforeTheLimit: a person who sees only dev finds dev's deployments
// on the first page, however many prod had since.
func TestDeploymentListHoldsBeforeTheLimit(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		_, deps := f.pipelineWorld()
		dee := f.person("dee", "viewer@project:shop/env:dev")
		for i := 0; i < 2; i++ {
			_, err := deps.Deploy(f.admin, "shop", "web", gatehouse.DeploymentCreate{Environment: "dev", Digest: digest1})
			f.must(err)
		}
		for i := 0; i < 15; i++ {
			_, err := deps.Deploy(f.admin, "shop", "web", gatehouse.DeploymentCreate{Environment: "prod", Digest: digest1})
			f.must(err)
		}
		got, err := gatehouse.Items(deps.Deployments(dee, "shop", "web", gatehouse.DeploymentFilter{Limit: 10}))
		f.must(err)
		if len(got) != 2 || got[0].Environment != "dev" || got[1].Environment != "dev" {
			t.Fatalf("dee's first page: %d deployments", len(got))
		}
		// A page costs the same queries whatever it holds, and the next one starts after it.
		var cost []int64
		var next string
		for _, limit := range []int{3, 12} {
			ctx, ran := sqlstore.CountQueries(f.admin)
			p, err := deps.Deployments(ctx, "shop", "web", gatehouse.DeploymentFilter{Limit: limit})
			f.must(err)
			cost, next = append(cost, ran()), p.Next
			if len(p.Items) != limit || p.Next == "" {
				t.Fatalf("a page of %d: %d deployments, next %q", limit, len(p.Items), p.Next)
			}
		}
		if cost[0] != cost[1] || cost[1] > 3 {
			t.Errorf("pages of 3 and 12 deployments took %v queries: want the same, at most 3", cost)
		}
		rest, err := deps.Deployments(f.admin, "shop", "web", gatehouse.DeploymentFilter{Limit: 12, Cursor: next})
		f.must(err)
		if len(rest.Items) != 5 || rest.Next != "" {
			t.Fatalf("the page after 12 of 17: %d deployments, next %q", len(rest.Items), rest.Next)
		}
	})
}

// TestDraftListHoldsBeforeTheLimit: drafts of another project's configuration never take the
// places of the caller's on a page; a vote cast takes the draft out of the voter's inbox.
func TestDraftListHoldsBeforeTheLimit(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		f.world()
		quinn := f.person("quinn", "config-approver@project:shop")
		_, err := f.projects.CreateProject(f.admin, gatehouse.ProjectCreate{Name: "big"})
		f.must(err)
		for _, p := range []string{"shop", "big"} {
			if p == "big" {
				_, err := f.envs.CreateEnvironment(f.admin, "big", gatehouse.EnvironmentCreate{Name: "prod", Cluster: "c1", Namespace: "big-prod"})
				f.must(err)
			}
			_, err := sqlstore.NewPolicyService(f.db).CreatePolicy(f.admin, gatehouse.PolicySpec{Name: p + "-config", Kind: gatehouse.PolicyConfig,
				Scope: "project:" + p + "/env:prod", Rules: []gatehouse.Rule{{Kind: gatehouse.RuleAny, Count: 1}}})
			f.must(err)
		}
		propose := func(project, app string) {
			ref := gatehouse.DraftRef{Kind: gatehouse.DraftConfigMap, Project: project, App: app, Environment: "prod"}
			d, err := f.drafts.CreateDraft(f.admin, gatehouse.DraftCreate{DraftRef: ref, ConfigWrite: gatehouse.ConfigWrite{Content: "A: \"1\"\n"}})
			f.must(err)
			_, err = f.drafts.ProposeDraft(f.admin, d.ID, gatehouse.DraftPropose{})
			f.must(err)
		}
		propose("shop", "web")
		for i := 0; i < 25; i++ {
			name := fmt.Sprintf("svc%d", i)
			_, err := f.apps.CreateApp(f.admin, "big", gatehouse.AppCreate{Name: name})
			f.must(err)
			propose("big", name)
		}
		mine, err := gatehouse.Items(f.drafts.Drafts(quinn, gatehouse.DraftFilter{ForMe: true, Limit: 10}))
		f.must(err)
		if len(mine) != 1 || mine[0].Project != "shop" {
			t.Fatalf("quinn's inbox: %d drafts", len(mine))
		}
		_, err = f.drafts.ApproveDraft(quinn, mine[0].ID, gatehouse.Decision{Version: mine[0].Version})
		f.must(err)
		if after, err := gatehouse.Items(f.drafts.Drafts(quinn, gatehouse.DraftFilter{ForMe: true, Limit: 10})); err != nil || len(after) != 0 {
			t.Fatalf("after the vote: %d %v", len(after), err)
		}
		if seen, err := gatehouse.Items(f.drafts.Drafts(quinn, gatehouse.DraftFilter{Limit: 10})); err != nil || len(seen) != 1 {
			t.Fatalf("quinn's list: %d %v", len(seen), err)
		}
	})
}
