package sqlstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// prodState is what decides what runs in prod, as the test believes it approved.
type prodState struct {
	namespace, chart, hook, token string
	trigger                       gatehouse.Trigger
	replicas                      int
}

// TestNothingUnapprovedReachesProd drives random people, a service account's token (made by
// one of them), direct changes, drafts with random votes (some for stale versions), publishes,
// image approvals, deploys and rollbacks to earlier deployments at a protected environment. It keeps its own record
// of what was approved — a change counts only when published from a draft that distinct
// people approved, each holding config-approver when it was published and none of them an
// author (as a person: the token's maker for the token) — and checks that what is live, and
// everything a deployment to prod would apply (placement, chart, hooks, values, secrets, and
// an approved digest), is always what that record says.
func TestNothingUnapprovedReachesProd(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		_, deps := f.pipelineWorld()
		approvals := sqlstore.NewApprovalService(f.db)
		policies := sqlstore.NewPolicyService(f.db)
		r := rand.New(rand.NewPCG(7, uint64(len(engine))))
		people := []string{"p0", "p1", "p2", "p3", "p4"}
		ctxOf := map[string]context.Context{}
		approverNow := map[string]bool{}
		for i, p := range people {
			roles := []string{"deployer@project:shop"}
			if i < 2 {
				roles = append(roles, "admin@project:shop")
			}
			if i > 0 {
				roles = append(roles, "config-approver@project:shop", "image-approver@project:shop")
				approverNow[p] = true
			}
			ctxOf[p] = f.person(p, roles...)
		}
		// p0 made the CI token (as a super-admin for that moment): what it does is p0's.
		_, err := f.users.CreateUser(f.admin, gatehouse.UserCreate{Name: "ci", Kind: gatehouse.ServiceAccount})
		f.must(err)
		f.bind("ci", "admin@project:shop", "deployer@project:shop")
		f.bind("p0", "super-admin@*")
		tok, err := f.identity.CreateToken(f.login("p0"), "ci", gatehouse.TokenCreate{Name: "pipeline"})
		f.must(err)
		f.revoke("p0", gatehouse.RoleSuperAdmin, "")
		a, err := f.identity.AuthenticateToken(context.Background(), gatehouse.NewSecret(tok.Secret))
		f.must(err)
		if a.Person != "p0" {
			t.Fatalf("the CI token counts as %q, want its maker p0", a.Person)
		}
		ci := gatehouse.WithActor(context.Background(), a)
		ctxOf["ci"] = ci
		personOf := func(actor string) string {
			if actor == "ci" {
				return "p0"
			}
			return actor
		}
		type deployed struct {
			id       int64
			replicas int
			token    string
		}
		var history []deployed // prod's succeeded deployments, with what they applied
		rollbacks := 0
		// The approved state before protection; then prod is protected.
		want := prodState{namespace: "shop-prod", chart: "", hook: "", trigger: gatehouse.TriggerManual, replicas: 5, token: ""}
		_, err = policies.CreatePolicy(f.admin, gatehouse.PolicySpec{Name: "prod-cfg", Kind: gatehouse.PolicyConfig, Scope: "project:shop/env:prod",
			Rules: []gatehouse.Rule{{Kind: gatehouse.RuleAny, Count: 2}}})
		f.must(err)
		_, err = policies.CreatePolicy(f.admin, gatehouse.PolicySpec{Name: "prod-img", Scope: "project:shop/env:prod",
			Rules: []gatehouse.Rule{{Kind: gatehouse.RuleAny, Count: 1}}, Rollback: gatehouse.RollbackPreApproved})
		f.must(err)

		type subjectCase struct {
			ref   gatehouse.DraftRef
			write func(n int) string
			apply func(s *prodState, n int)
		}
		subjects := []subjectCase{
			{envRef("prod"), func(n int) string { return fmt.Sprintf("cluster: c1\nnamespace: prod-%d\n", n) },
				func(s *prodState, n int) { s.namespace = fmt.Sprintf("prod-%d", n) }},
			{gatehouse.DraftRef{Kind: gatehouse.DraftChart, Project: "shop", App: "web"},
				func(n int) string { return fmt.Sprintf("source: directory\npath: /srv/charts/v%d\n", n) },
				func(s *prodState, n int) { s.chart = fmt.Sprintf("/srv/charts/v%d", n) }},
			{gatehouse.DraftRef{Kind: gatehouse.DraftHooks, Project: "shop", App: "web"},
				func(n int) string {
					return fmt.Sprintf("pre_deploy:\n  - name: migrate\n    image: r.example.com/tools@sha256:%064x\n", n)
				},
				func(s *prodState, n int) { s.hook = fmt.Sprintf("r.example.com/tools@sha256:%064x", n) }},
			{gatehouse.DraftRef{Kind: gatehouse.DraftPipeline, Project: "shop", App: "web"},
				func(n int) string {
					tr := []string{"manual", "auto"}[n%2]
					return "stages:\n  - environment: dev\n  - environment: stage\n    after: dev\n    trigger: auto\n" +
						"  - environment: prod\n    after: stage\n    auto_rollback: true\n    timeout: 30s\n    trigger: " + tr + "\n"
				},
				func(s *prodState, n int) { s.trigger = gatehouse.Trigger([]string{"manual", "auto"}[n%2]) }},
			{gatehouse.DraftRef{Kind: gatehouse.DraftValues, Project: "shop", App: "web", Environment: "prod"},
				func(n int) string { return fmt.Sprintf("replicas: %d\n", n) }, func(s *prodState, n int) { s.replicas = n }},
			{gatehouse.DraftRef{Kind: gatehouse.DraftSecrets, Project: "shop", App: "web", Environment: "prod"},
				func(n int) string { return fmt.Sprintf("TOKEN: secret-%d\n", n) }, func(s *prodState, n int) { s.token = fmt.Sprintf("secret-%d", n) }},
		}
		direct := func(who context.Context, s subjectCase, n int) error {
			switch s.ref.Kind {
			case gatehouse.DraftEnvironment:
				ns := fmt.Sprintf("prod-%d", n)
				_, err := f.envs.UpdateEnvironment(who, "shop", "prod", gatehouse.EnvironmentUpdate{Namespace: &ns})
				return err
			case gatehouse.DraftChart:
				c := gatehouse.Chart{Source: gatehouse.ChartDirectory, Path: fmt.Sprintf("/srv/charts/v%d", n)}
				_, err := f.apps.UpdateApp(who, "shop", "web", gatehouse.AppUpdate{Chart: &c})
				return err
			case gatehouse.DraftPipeline:
				var in gatehouse.PipelineSet
				f.must(gatehouse.ParseSetting("content", s.write(n), &in))
				_, err := f.pipes.SetPipeline(who, "shop", "web", in)
				return err
			case gatehouse.DraftValues, gatehouse.DraftSecrets:
				_, err := f.config.SetConfig(who, gatehouse.ConfigRef{Project: "shop", App: "web", Environment: "prod", Kind: gatehouse.ConfigKind(s.ref.Kind)},
					gatehouse.ConfigWrite{Content: s.write(n)})
				return err
			}
			var h gatehouse.Hooks
			f.must(gatehouse.ParseSetting("content", s.write(n), &h))
			_, err := f.apps.UpdateApp(who, "shop", "web", gatehouse.AppUpdate{Hooks: &h})
			return err
		}
		// check compares what is live, and what a deployment to prod applies (deployment id,
		// when there is one), with want.
		check := func(round int, id int64) {
			t.Helper()
			e, err := f.envs.Environment(f.admin, "shop", "prod")
			f.must(err)
			app, err := f.apps.App(f.admin, "shop", "web")
			f.must(err)
			p, err := f.pipes.Pipeline(f.admin, "shop", "web")
			f.must(err)
			hook := ""
			if len(app.Hooks.PreDeploy) > 0 {
				hook = app.Hooks.PreDeploy[0].Image
			}
			values, err := f.config.Config(f.admin, gatehouse.ConfigRef{Project: "shop", App: "web", Environment: "prod", Kind: gatehouse.ConfigValues})
			f.must(err)
			if e.Namespace != want.namespace || app.Chart.Path != want.chart || hook != want.hook || p.StageFor("prod").Trigger != want.trigger ||
				values.Content != fmt.Sprintf("replicas: %d\n", want.replicas) {
				t.Fatalf("round %d: live prod is %s, chart %q, hook %q, trigger %s; approved: %+v", round, e.Namespace, app.Chart.Path, hook, p.StageFor("prod").Trigger, want)
			}
			if id == 0 {
				return
			}
			job, err := f.db.ClaimDeployment(context.Background(), id, "w", time.Minute)
			f.must(err)
			jobHook := ""
			if len(job.Hooks.PreDeploy) > 0 {
				jobHook = job.Hooks.PreDeploy[0].Image
			}
			if job.Namespace != want.namespace || job.Chart.Path != want.chart || jobHook != want.hook || job.Secrets["TOKEN"] != want.token ||
				!strings.Contains(job.Values, fmt.Sprintf("replicas: %d", want.replicas)) {
				t.Fatalf("round %d: deployment %d applies ns %s chart %q hook %q token %q values %s; approved: %+v",
					round, id, job.Namespace, job.Chart.Path, jobHook, job.Secrets["TOKEN"], job.Values, want)
			}
			path := []gatehouse.DeploymentState{gatehouse.StateApplying, gatehouse.StateVerifying, gatehouse.StatePostDeploy, gatehouse.StateSucceeded}
			if i := slices.Index(path, job.State); i >= 0 {
				path = path[i+1:]
			}
			f.must(f.db.AdvanceDeployment(context.Background(), id, "w", sqlstore.Outcome{}, path...))
			history = append(history, deployed{id: id, replicas: want.replicas, token: want.token})
		}
		// rollback tries to return prod to an earlier deployment directly: it goes through only
		// when that deployment's values and secrets are what is approved now (its image passed
		// the gate then, and the image policy pre-approves rollbacks); otherwise it is refused
		// for the config policy's draft.
		rollback := func(round int) {
			t.Helper()
			old := history[r.IntN(len(history))]
			d, err := deps.Rollback(f.admin, "shop", "web", old.id)
			same := old.replicas == want.replicas && old.token == want.token
			switch {
			case err == nil && !same:
				t.Fatalf("round %d: a rollback to deployment %d (replicas %d, token %q) went through; approved: %+v", round, old.id, old.replicas, old.token, want)
			case err == nil:
				rollbacks++
				check(round, d.ID)
			case same:
				t.Fatalf("round %d: a rollback to the approved configuration was refused: %v", round, err)
			case !strings.Contains(err.Error(), "rollback of shop/web in prod is protected by policy prod-cfg"):
				t.Fatalf("round %d: a rollback refused with %v", round, err)
			}
		}
		// regain gives p config-approver back through an access draft voted on by every other
		// approver now; it reports whether that passed. A direct grant is refused.
		regain := func(p string) bool {
			t.Helper()
			grant := gatehouse.RoleBindingCreate{User: p, Role: gatehouse.RoleConfigApprover, Scope: "project:shop"}
			if _, err := f.bindings.CreateRoleBinding(f.admin, grant); gatehouse.KindOf(err) != gatehouse.KindPreconditionFailed {
				t.Fatalf("a direct grant of config-approver to %s: %v", p, err)
			}
			ref := gatehouse.DraftRef{Kind: gatehouse.DraftAccess, User: p}
			text := "roles:\n- {role: deployer, scope: 'project:shop'}\n- {role: image-approver, scope: 'project:shop'}\n- {role: config-approver, scope: 'project:shop'}\n"
			d, err := f.drafts.CreateDraft(f.admin, gatehouse.DraftCreate{DraftRef: ref, ConfigWrite: gatehouse.ConfigWrite{Content: text}})
			f.must(err)
			d, err = f.drafts.ProposeDraft(f.admin, d.ID, gatehouse.DraftPropose{})
			f.must(err)
			for _, o := range people {
				if o != p && approverNow[o] {
					_, _ = f.drafts.ApproveDraft(ctxOf[o], d.ID, gatehouse.Decision{Version: d.Version})
				}
			}
			if _, err := f.drafts.PublishDraft(f.admin, d.ID); err != nil {
				_, _ = f.drafts.DiscardDraft(f.admin, d.ID, "not enough approvers left")
				return false
			}
			return true
		}
		actors := append(slices.Clone(people), "ci")
		pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
		published, refusedDirect := 0, 0
		for round := 1; round <= 24; round++ {
			s := subjects[r.IntN(len(subjects))]
			n := 10 + round
			// A direct change by anyone with the right is refused: everything here is protected
			// (one that changes nothing may pass, and check sees that nothing changed).
			if err := direct(ctxOf[pick(actors)], s, n); err == nil {
				check(round, 0)
			} else {
				refusedDirect++
			}
			// A draft by an author who may write it, voted on by random people.
			author := pick([]string{"p0", "p1", "ci"})
			d, err := f.drafts.CreateDraft(ctxOf[author], gatehouse.DraftCreate{DraftRef: s.ref, ConfigWrite: gatehouse.ConfigWrite{Content: s.write(n)}})
			if gatehouse.KindOf(err) == gatehouse.KindPreconditionFailed && strings.Contains(err.Error(), "changes nothing") {
				continue
			}
			f.must(err)
			d, err = f.drafts.ProposeDraft(ctxOf[author], d.ID, gatehouse.DraftPropose{})
			f.must(err)
			if r.IntN(3) == 0 { // a second version: earlier approvals no longer count
				n += 100
				d, err = f.drafts.EditDraft(ctxOf[author], d.ID, gatehouse.ConfigWrite{Content: s.write(n), BaseVersion: d.Version})
				f.must(err)
			}
			for _, p := range people {
				if r.IntN(3) == 0 {
					continue
				}
				version := d.Version
				if r.IntN(5) == 0 {
					version = d.Version + 1 // a vote for a version that does not exist yet is refused
				}
				_, _ = f.drafts.ApproveDraft(ctxOf[p], d.ID, gatehouse.Decision{Version: version})
			}
			// Approvers sometimes lose their role before the publish, and get it back later —
			// through an access draft that the other approvers pass (prod-cfg counts the vote
			// it gives), when enough of them are left.
			for _, p := range people[1:] {
				if !approverNow[p] && r.IntN(2) == 0 && regain(p) {
					approverNow[p] = true
				}
			}
			if r.IntN(5) == 0 {
				p := people[1+r.IntN(len(people)-1)]
				if approverNow[p] {
					f.revoke(p, gatehouse.RoleConfigApprover, "")
					approverNow[p] = false
				}
			}
			got, err := f.drafts.Draft(f.admin, d.ID)
			f.must(err)
			var counted []string
			for _, v := range got.Votes {
				if v.Approve && v.Version == got.Version && approverNow[v.Voter] && !slices.Contains(got.Authors, v.Voter) &&
					v.Voter != personOf(author) && !slices.Contains(counted, v.Voter) {
					counted = append(counted, v.Voter)
				}
			}
			_, err = f.drafts.PublishDraft(ctxOf[pick([]string{"p0", "p1", "ci"})], d.ID)
			switch {
			case err == nil && len(counted) < 2:
				t.Fatalf("round %d: draft %d of %s was published with approvals of %v (votes %+v)", round, d.ID, s.ref, counted, got.Votes)
			case err == nil:
				s.apply(&want, n)
				published++
			case len(counted) >= 2:
				t.Fatalf("round %d: draft %d approved by %v was not published: %v", round, d.ID, counted, err)
			default:
				_, _ = f.drafts.DiscardDraft(f.admin, d.ID, "round over")
			}
			// An approved image reaches prod with exactly the approved state.
			digest := fmt.Sprintf("sha256:%064x", 1000+round)
			_, err = f.arts.CreateArtifact(ci, "shop", "web", gatehouse.ArtifactCreate{Image: "r.example.com/web@" + digest})
			f.must(err)
			req, err := approvals.RequestApproval(ctxOf["p1"], "shop", "web", gatehouse.ApprovalCreate{Environment: "prod", Digest: digest})
			f.must(err)
			for _, p := range people[2:] {
				if _, err := approvals.Approve(ctxOf[p], req.ID, gatehouse.Decision{}); err == nil {
					break
				}
			}
			req, err = approvals.Approval(f.admin, req.ID)
			f.must(err)
			switch req.State {
			case gatehouse.ApprovalConsumed: // prod's stage is auto: the approval deployed at once
				check(round, req.Deployment)
			case gatehouse.ApprovalApproved:
				d, err := deps.Deploy(f.admin, "shop", "web", gatehouse.DeploymentCreate{Environment: "prod", Digest: digest})
				if err != nil {
					t.Fatalf("round %d: deploy of an approved digest: %v", round, err)
				}
				check(round, d.ID)
			default:
				t.Fatalf("round %d: request %d is %s", round, req.ID, req.State)
			}
			if r.IntN(2) == 0 {
				rollback(round)
			}
		}
		if published < 3 || refusedDirect < 10 {
			t.Fatalf("the property was barely exercised: %d published drafts, %d refused direct changes", published, refusedDirect)
		}
		t.Logf("%d drafts published, %d direct changes refused, %d rollbacks went through", published, refusedDirect, rollbacks)
	})
}
