package sqlstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// succeed runs a queued deployment to success, as a worker would.
func (f *fixture) succeed(id int64) {
	f.t.Helper()
	_, err := f.db.ClaimDeployment(context.Background(), id, "w", time.Minute)
	f.must(err)
	f.must(f.db.AdvanceDeployment(context.Background(), id, "w", sqlstore.Outcome{}, gatehouse.StateVerifying, gatehouse.StatePostDeploy, gatehouse.StateSucceeded))
}

func envRef(env string) gatehouse.DraftRef {
	return gatehouse.DraftRef{Kind: gatehouse.DraftEnvironment, Project: "shop", Environment: env}
}

// TestPlacementIsAGatedSetting (finding 1): a project admin can neither move a protected
// environment nor put another environment where it deploys — not onto its namespace, nor
// onto the namespace it used before it moved (through a draft its approvers approved) — and
// no release is applied in a namespace that another environment owns.
func TestPlacementIsAGatedSetting(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		g := newGated(t, engine)
		dave := g.dave
		str := func(s string) *string { return &s }
		_, err := g.envs.UpdateEnvironment(dave, "shop", "prod", gatehouse.EnvironmentUpdate{Namespace: str("elsewhere")})
		wantErr(t, err, gatehouse.KindPreconditionFailed, "placement of environment shop/prod is protected by policy prod-gate", "changes go through a draft")
		_, err = g.envs.UpdateEnvironment(dave, "shop", "dev", gatehouse.EnvironmentUpdate{Namespace: str("shop-prod")})
		wantErr(t, err, gatehouse.KindConflict, "already environment shop/prod")

		// prod moves through a draft its own approvers approve.
		d := g.passDraft(dave, envRef("prod"), "cluster: c1\nnamespace: shop-prod-2\n", g.bob, g.carol)
		prod, err := g.envs.Environment(g.admin, "shop", "prod")
		g.must(err)
		if d.State != gatehouse.DraftPublished || prod.Namespace != "shop-prod-2" {
			t.Fatalf("after the draft: %s, prod in %s", d.State, prod.Namespace)
		}
		// Its old namespace stays prod's: neither dev nor a new environment takes it alone.
		_, err = g.envs.UpdateEnvironment(dave, "shop", "dev", gatehouse.EnvironmentUpdate{Namespace: str("shop-prod")})
		wantErr(t, err, gatehouse.KindPreconditionFailed, "placement of environment shop/dev is protected by policy prod-gate")
		_, err = g.envs.CreateEnvironment(dave, "shop", gatehouse.EnvironmentCreate{Name: "sneak", Cluster: "c1", Namespace: "shop-prod"})
		wantErr(t, err, gatehouse.KindPreconditionFailed, "was used by environment shop/prod")
		// Letting dev's releases create cluster-scoped objects reaches prod too (one cluster).
		_, err = g.envs.UpdateEnvironment(dave, "shop", "dev", gatehouse.EnvironmentUpdate{AllowClusterScoped: func(b bool) *bool { return &b }(true)})
		wantErr(t, err, gatehouse.KindPreconditionFailed, "protected by policy prod-gate")
		_, err = g.envs.UpdateEnvironment(dave, "shop", "dev", gatehouse.EnvironmentUpdate{AllowNamespaces: &[]string{"shop-prod-2"}})
		wantErr(t, err, gatehouse.KindPreconditionFailed, "protected by policy prod-gate")
		// What nothing protects still changes directly.
		if _, err := g.envs.UpdateEnvironment(dave, "shop", "dev", gatehouse.EnvironmentUpdate{Namespace: str("dev-2")}); err != nil {
			t.Fatal(err)
		}

		// A deployment queued before its environment moved is not applied to the old place.
		dep, err := g.deps.Deploy(g.alice, "shop", "web", gatehouse.DeploymentCreate{Environment: "dev", Digest: g.digestA})
		g.must(err)
		_, err = g.envs.UpdateEnvironment(dave, "shop", "dev", gatehouse.EnvironmentUpdate{Namespace: str("dev-3")})
		g.must(err)
		_, err = g.db.ClaimDeployment(context.Background(), dep.ID, "w", time.Minute)
		if err != sqlstore.ErrFinished {
			t.Fatalf("claiming a deployment of a moved environment: %v", err)
		}
		got, err := g.deps.Deployment(g.admin, "shop", "web", dep.ID)
		g.must(err)
		if got.State != gatehouse.StateFailed || !strings.Contains(got.Cause, "moved to namespace dev-3") {
			t.Fatalf("deployment %s: %s", got.State, got.Cause)
		}
		// Someone who writes the database puts dev where prod deployed: the worker refuses.
		dep, err = g.deps.Deploy(g.alice, "shop", "web", gatehouse.DeploymentCreate{Environment: "dev", Digest: g.digestA})
		g.must(err)
		g.exec(`UPDATE environments SET namespace = 'shop-prod' WHERE name = 'dev'`)
		g.exec(`UPDATE deployments SET namespace = 'shop-prod' WHERE id = $1`, dep.ID)
		_, err = g.db.ClaimDeployment(context.Background(), dep.ID, "w", time.Minute)
		if err != sqlstore.ErrFinished {
			t.Fatalf("claiming a deployment into prod's namespace: %v", err)
		}
		got, err = g.deps.Deployment(g.admin, "shop", "web", dep.ID)
		g.must(err)
		if got.State != gatehouse.StateFailed || !strings.Contains(got.Cause, "belongs to environment shop/prod") {
			t.Fatalf("deployment %s: %s", got.State, got.Cause)
		}
	})
}

// TestAppSettingsAreGated (finding 2): the chart, the hooks and the stage of a protected
// environment change only through drafts; a stage of an unprotected environment changes
// directly; what a deployment would run (chart and hooks) shows in its review.
func TestAppSettingsAreGated(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		g := newGated(t, engine)
		dave := g.dave
		chart := gatehouse.Chart{Source: gatehouse.ChartDirectory, Path: "/srv/charts/web"}
		_, err := g.apps.UpdateApp(dave, "shop", "web", gatehouse.AppUpdate{Chart: &chart})
		wantErr(t, err, gatehouse.KindPreconditionFailed, "chart of app shop/web is protected by policy prod-gate")
		hooks := gatehouse.Hooks{PreDeploy: []gatehouse.JobStep{{Name: "migrate", Image: "r.example.com/tools@" + digest1}}}
		_, err = g.apps.UpdateApp(dave, "shop", "web", gatehouse.AppUpdate{Hooks: &hooks})
		wantErr(t, err, gatehouse.KindPreconditionFailed, "hooks of app shop/web is protected by policy prod-gate")
		desc := "storefront"
		_, err = g.apps.UpdateApp(dave, "shop", "web", gatehouse.AppUpdate{Description: &desc, Hooks: &hooks})
		wantErr(t, err, gatehouse.KindPreconditionFailed, "hooks of app shop/web")
		if app, err := g.apps.App(g.admin, "shop", "web"); err != nil || app.Description == desc || len(app.Hooks.PreDeploy) != 0 {
			t.Fatalf("a refused update was half written: %+v %v", app, err)
		}
		stages := func(prodTrigger gatehouse.Trigger, devTimeout string) gatehouse.PipelineSet {
			return gatehouse.PipelineSet{Stages: []gatehouse.Stage{{Environment: "dev", Timeout: devTimeout}, {Environment: "stage", After: "dev", Trigger: "auto"},
				{Environment: "prod", After: "stage", AutoRollback: true, Timeout: "30s", Trigger: prodTrigger}}}
		}
		_, err = g.pipes.SetPipeline(dave, "shop", "web", stages(gatehouse.TriggerAuto, ""))
		wantErr(t, err, gatehouse.KindPreconditionFailed, "pipeline of app shop/web is protected by policy prod-gate")
		if _, err := g.pipes.SetPipeline(dave, "shop", "web", stages(gatehouse.TriggerManual, "2m")); err != nil {
			t.Fatalf("a change of unprotected stages only: %v", err)
		}
		// The hooks change through their draft; the review of the next prod deploy shows them.
		text, err := gatehouse.RenderSetting(hooks)
		g.must(err)
		g.passDraft(dave, gatehouse.DraftRef{Kind: gatehouse.DraftHooks, Project: "shop", App: "web"}, text, g.bob, g.carol)
		r := g.request(g.alice, g.digestA)
		rv, err := g.approvals.Review(g.bob, r.ID)
		g.must(err)
		if len(rv.Hooks.PreDeploy) != 1 || rv.Hooks.PreDeploy[0].Image != hooks.PreDeploy[0].Image ||
			!strings.Contains(fmtChanges(rv.Settings), "hooks.pre_deploy") {
			t.Fatalf("review shows hooks %+v, settings changes %v", rv.Hooks, rv.Settings)
		}
	})
}

func fmtChanges(cs []gatehouse.ValueChange) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.String())
	}
	return strings.Join(out, "; ")
}

// TestPoliciesGateThemselves (finding 3): tightening applies at once; loosening or deleting
// needs the policy's own approvers and never its author; when none is left, two distinct
// people who manage its scope get out of the lock-out, and the trail says so.
func TestPoliciesGateThemselves(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		g := newGated(t, engine)
		// dave, an admin, is given a vote under prod-gate by its approvers; erin is made an
		// admin, who votes under its lock-out rule, by another admin.
		dave := g.dave
		g.grantThrough(gatehouse.DraftRef{User: "dave"}, []string{"image-approver@project:shop"}, nil, g.bob, g.carol)
		g.person("erin")
		g.grantThrough(gatehouse.DraftRef{User: "erin"}, []string{"admin@project:shop"}, nil, dave)
		erin := g.login("erin")
		wantErr(t, g.policies.DeletePolicy(dave, "prod-gate"), gatehouse.KindPreconditionFailed, "changes go through a draft")
		looser := g.policy
		looser.Rules = looser.Rules[:1]
		_, err := g.policies.UpdatePolicy(dave, "prod-gate", looser)
		wantErr(t, err, gatehouse.KindPreconditionFailed, "policy prod-gate is protected by policy prod-gate")
		stricter := g.policy
		stricter.Rules = []gatehouse.Rule{{Kind: gatehouse.RuleAny, Count: 2}, {Kind: gatehouse.RuleGroup, Count: 1, Group: "security"}}
		p, err := g.policies.UpdatePolicy(dave, "prod-gate", stricter)
		if err != nil || p.Version != 2 {
			t.Fatalf("tightening: %+v %v", p, err)
		}
		// Writing a policy's draft needs manage on its scope, as changing it does.
		text, err := gatehouse.RenderSetting(looser)
		g.must(err)
		ref := gatehouse.DraftRef{Kind: gatehouse.DraftPolicy, Policy: "prod-gate"}
		_, err = g.drafts.CreateDraft(g.alice, gatehouse.DraftCreate{DraftRef: ref, ConfigWrite: gatehouse.ConfigWrite{Content: text}})
		wantErr(t, err, gatehouse.KindForbidden, "needs role admin or super-admin")
		// dave, an admin who also approves images, proposes loosening it: he may not approve that.
		d, err := g.drafts.CreateDraft(dave, gatehouse.DraftCreate{DraftRef: ref, ConfigWrite: gatehouse.ConfigWrite{Content: text}})
		g.must(err)
		if !strings.Contains(strings.Join(d.Change.Labels, ";"), "asks for less than") {
			t.Fatalf("the draft does not say how it loosens: %v", d.Change.Labels)
		}
		_, err = g.drafts.ProposeDraft(dave, d.ID, gatehouse.DraftPropose{})
		g.must(err)
		_, err = g.drafts.ApproveDraft(dave, d.ID, gatehouse.Decision{Version: 1})
		wantErr(t, err, gatehouse.KindForbidden, "dave wrote a version of the draft")
		for _, who := range []context.Context{g.alice, g.bob} {
			_, err = g.drafts.ApproveDraft(who, d.ID, gatehouse.Decision{Version: 1})
			g.must(err)
		}
		d, err = g.drafts.Draft(g.admin, d.ID)
		g.must(err)
		if d.State != gatehouse.DraftProposed {
			t.Fatalf("two approvals without security meet the policy's own rules: %s", d.State)
		}
		d, err = g.drafts.ApproveDraft(g.carol, d.ID, gatehouse.Decision{Version: 1})
		g.must(err)
		d, err = g.drafts.PublishDraft(dave, d.ID)
		g.must(err)
		p, err = g.policies.Policy(g.admin, "prod-gate")
		g.must(err)
		if d.State != gatehouse.DraftPublished || p.Version != 3 || len(p.Rules) != 1 {
			t.Fatalf("after publishing: draft %s, policy v%d %+v", d.State, p.Version, p.Rules)
		}

		// Lock-out: the only person a policy names is gone.
		g.person("zed", "image-approver@project:shop/env:stage")
		_, err = g.policies.CreatePolicy(dave, gatehouse.PolicySpec{Name: "solo", Scope: "project:shop/env:stage",
			Rules: []gatehouse.Rule{{Kind: gatehouse.RuleUsers, Users: []string{"zed"}}}})
		g.must(err)
		yes := true
		_, err = g.users.UpdateUser(g.admin, "zed", gatehouse.UserUpdate{Disabled: &yes})
		g.must(err)
		d, err = g.drafts.CreateDraft(dave, gatehouse.DraftCreate{DraftRef: gatehouse.DraftRef{Kind: gatehouse.DraftPolicy, Policy: "solo"}})
		g.must(err)
		d, err = g.drafts.ProposeDraft(dave, d.ID, gatehouse.DraftPropose{})
		g.must(err)
		if !d.Lockout {
			t.Fatalf("draft %d is not judged by the lock-out rule: %+v", d.ID, d.Verdicts)
		}
		_, err = g.drafts.ApproveDraft(dave, d.ID, gatehouse.Decision{Version: 1})
		wantErr(t, err, gatehouse.KindForbidden, "dave wrote a version")
		_, err = g.drafts.ApproveDraft(g.carol, d.ID, gatehouse.Decision{Version: 1})
		wantErr(t, err, gatehouse.KindForbidden, "carol does not hold admin")
		_, err = g.drafts.ApproveDraft(erin, d.ID, gatehouse.Decision{Version: 1})
		g.must(err)
		_, err = g.drafts.PublishDraft(dave, d.ID)
		g.must(err)
		if _, err := g.policies.Policy(g.admin, "solo"); gatehouse.KindOf(err) != gatehouse.KindNotFound {
			t.Fatalf("policy solo after its deletion was published: %v", err)
		}
		ev, err := g.audit.AuditEvents(g.admin, gatehouse.AuditFilter{Action: "draft.published"})
		g.must(err)
		if last := ev[len(ev)-1]; !strings.Contains(string(last.Details), `"lockout":true`) {
			t.Fatalf("the trail does not record the lock-out: %s", last.Details)
		}
	})
}
