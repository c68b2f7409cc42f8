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

// deploymentsTo counts the deployments of web (or app) to an environment.
func (f *fixture) deploymentsTo(app, env string) int {
	f.t.Helper()
	return f.countRows(`SELECT COUNT(*) FROM deployments d JOIN apps a ON a.id = d.app_id JOIN environments e ON e.id = d.environment_id
		WHERE a.name = $1 AND e.name = $2`, app, env)
}

// TestGatedAutoStageWaitsForApproval: the paths that start deployments by themselves — a push
// to an app whose first stage is auto, a promotion after an earlier stage succeeded — pass a
// gated auto stage over until its request is approved, and the final approval starts it.
func TestGatedAutoStageWaitsForApproval(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		q, deps := f.pipelineWorld() // web: dev → stage (auto) → prod
		approvals, policies := sqlstore.NewApprovalService(f.db), sqlstore.NewPolicyService(f.db)
		bob := f.person("bob", "image-approver@project:shop")
		_, err := f.apps.CreateApp(f.admin, "shop", gatehouse.AppCreate{Name: "api"})
		f.must(err)
		_, err = f.pipes.SetPipeline(f.admin, "shop", "api", gatehouse.PipelineSet{Stages: []gatehouse.Stage{{Environment: "stage", Trigger: gatehouse.TriggerAuto}}})
		f.must(err)
		_, err = policies.CreatePolicy(f.admin, gatehouse.PolicySpec{Name: "stage-gate", Scope: "project:shop/env:stage",
			Rules: []gatehouse.Rule{{Kind: gatehouse.RuleAny, Count: 1}}})
		f.must(err)

		// A push to api, whose only stage is auto and gated, deploys nothing.
		apiDigest := "sha256:" + strings.Repeat("a", 64)
		_, err = f.arts.CreateArtifact(f.admin, "shop", "api", gatehouse.ArtifactCreate{Image: "r.example.com/api@" + apiDigest})
		f.must(err)
		if n := f.deploymentsTo("api", "stage"); n != 0 {
			t.Fatalf("a push deployed api to the gated stage %d times", n)
		}

		// web's dev deployment succeeds; the promotion passes the gated stage over, and says so.
		dev, err := deps.Deploy(f.admin, "shop", "web", gatehouse.DeploymentCreate{Environment: "dev", Digest: digest1})
		f.must(err)
		ctx := context.Background()
		_, err = f.db.ClaimDeployment(ctx, dev.ID, "w", time.Minute)
		f.must(err)
		f.must(f.db.AdvanceDeployment(ctx, dev.ID, "w", sqlstore.Outcome{}, gatehouse.StateVerifying, gatehouse.StatePostDeploy, gatehouse.StateSucceeded))
		if n := f.deploymentsTo("web", "stage"); n != 0 {
			t.Fatalf("the promotion deployed web to the gated stage %d times", n)
		}
		got, err := deps.Deployment(f.admin, "shop", "web", dev.ID)
		f.must(err)
		if last := got.Events[len(got.Events)-1]; !strings.Contains(last.Message, "stage stage waits for approval") {
			t.Fatalf("the promotion did not say why it stopped: %+v", got.Events)
		}
		queued := len(q.got())

		// The final approval of the auto stage starts it, once, with the approval consumed.
		r, err := approvals.RequestApproval(f.admin, "shop", "web", gatehouse.ApprovalCreate{Environment: "stage", Digest: digest1})
		f.must(err)
		r, err = approvals.Approve(bob, r.ID, gatehouse.Decision{})
		f.must(err)
		if n := f.deploymentsTo("web", "stage"); n != 1 || r.State != gatehouse.ApprovalConsumed || len(q.got()) != queued+1 {
			t.Fatalf("after the approval: %d deployments to stage, request %s", n, r.State)
		}
	})
}

// TestExpiredApprovalNeverDeploys: an approval expires at its instant whether or not the
// sweep has run: deploying a microsecond before goes through; at the instant it is refused.
func TestExpiredApprovalNeverDeploys(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		for _, c := range []struct {
			name   string
			before time.Duration // how long before the expiry instant the deploy is tried
			ok     bool
		}{{"a microsecond before", time.Microsecond, true}, {"at the instant", 0, false}, {"an hour after", -time.Hour, false}} {
			t.Run(c.name, func(t *testing.T) {
				g := newGated(t, engine)
				r := g.request(g.alice, g.digestA)
				for _, who := range []context.Context{g.bob, g.carol} {
					_, err := g.approvals.Approve(who, r.ID, gatehouse.Decision{})
					g.must(err)
				}
				r, err := g.approvals.Approval(g.admin, r.ID)
				g.must(err)
				if r.State != gatehouse.ApprovalApproved || r.ExpiresAt == nil {
					t.Fatalf("request %+v", r)
				}
				g.clock.Advance(r.ExpiresAt.Sub(g.clock.Now()) - c.before)
				_, err = g.deploy(g.alice, g.digestA)
				switch {
				case c.ok && err != nil:
					t.Fatalf("deploy before the expiry: %v", err)
				case !c.ok:
					wantErr(t, err, gatehouse.KindPreconditionFailed, "expired")
					if n := g.deploymentsTo("web", "prod"); n != 0 {
						t.Fatalf("an expired approval deployed (%d deployments)", n)
					}
				}
			})
		}
	})
}

// TestCommitAuthorNeverApprovesTheirChange: the commit author — named as a user, or by the
// e-mail address of one, in any case — is barred from approving, through the store, unless
// the policy lets builders approve.
func TestCommitAuthorNeverApprovesTheirChange(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		g := newGated(t, engine)
		_, err := g.users.UpdateUser(g.admin, "dan", gatehouse.UserUpdate{Email: ptr("dan@example.com")})
		g.must(err)
		g.grantThrough(gatehouse.DraftRef{User: "dan"}, []string{"image-approver@project:shop"}, nil, g.bob, g.carol)
		for i, author := range []string{"carol", "bob", "DAN@example.com"} {
			d := "sha256:" + strings.Repeat(string(rune('c'+i)), 64)
			_, err := g.arts.CreateArtifact(g.admin, "shop", "web", gatehouse.ArtifactCreate{Image: "r.example.com/web@" + d, CommitAuthor: author})
			g.must(err)
			r := g.request(g.alice, d)
			who := strings.ToLower(strings.TrimSuffix(author, "@example.com"))
			voter := map[string]context.Context{"carol": g.carol, "bob": g.bob, "dan": g.login("dan")}[who]
			_, err = g.approvals.Approve(voter, r.ID, gatehouse.Decision{})
			wantErr(t, err, gatehouse.KindForbidden, who+" built it or wrote its commit")
		}
	})
}
