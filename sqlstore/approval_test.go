package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// gated is a fixture with project shop gated on prod by a policy needing one approver and one
// from group security; alice deploys (and could approve, but requests), bob approves (and could
// deploy), carol approves from security, dan is the builder of the artifact.
type gated struct {
	*fixture
	q                    *recordingQueue
	deps                 *sqlstore.DeploymentService
	approvals            *sqlstore.ApprovalService
	policies             *sqlstore.PolicyService
	alice, bob, carol    context.Context
	dave                 context.Context // admin of project shop, bound before prod-gate existed
	policy               gatehouse.PolicySpec
	digestA, digestB, d3 string
}

func newGated(t *testing.T, engine string) *gated {
	f := newFixture(t, engine)
	q, deps := f.pipelineWorld()
	g := &gated{fixture: f, q: q, deps: deps, approvals: sqlstore.NewApprovalService(f.db), policies: sqlstore.NewPolicyService(f.db),
		digestA: digest1, digestB: digest2, d3: "sha256:" + strings.Repeat("3", 64)}
	g.alice = f.person("alice", "deployer@project:shop", "image-approver@project:shop")
	g.bob = f.person("bob", "deployer@project:shop", "image-approver@project:shop/env:prod")
	g.carol = f.person("carol", "image-approver@project:shop")
	f.person("dan", "deployer@project:shop")
	g.dave = f.person("dave", "admin@project:shop")
	_, err := f.groups.CreateGroup(f.admin, gatehouse.GroupCreate{Name: "security", Members: []string{"carol"}})
	f.must(err)
	g.policy = gatehouse.PolicySpec{Name: "prod-gate", Scope: "project:shop/env:prod", Rules: []gatehouse.Rule{
		{Kind: gatehouse.RuleAny, Count: 1}, {Kind: gatehouse.RuleGroup, Count: 1, Group: "security"}}}
	_, err = g.policies.CreatePolicy(f.admin, g.policy)
	f.must(err)
	// dan's CI pushes a second artifact (dan is its builder).
	_, err = f.arts.CreateArtifact(f.serviceAccount("ci", "deployer@project:shop"), "shop", "web",
		gatehouse.ArtifactCreate{Image: "r.example.com/web:v2@" + g.digestB, Builder: "dan"})
	f.must(err)
	return g
}

// loosen replaces the gate with spec through the draft its own approvers judge.
func (g *gated) loosen(spec gatehouse.PolicySpec, approvers ...context.Context) {
	g.t.Helper()
	text, err := gatehouse.RenderSetting(spec)
	g.must(err)
	g.passDraft(g.admin, gatehouse.DraftRef{Kind: gatehouse.DraftPolicy, Policy: spec.Name}, text, approvers...)
}

func (g *gated) request(ctx context.Context, digest string) *gatehouse.ApprovalRequest {
	g.t.Helper()
	r, err := g.approvals.RequestApproval(ctx, "shop", "web", gatehouse.ApprovalCreate{Environment: "prod", Digest: digest, Comment: "ship it"})
	g.must(err)
	return r
}

func (g *gated) deploy(ctx context.Context, digest string) (*gatehouse.Deployment, error) {
	return g.deps.Deploy(ctx, "shop", "web", gatehouse.DeploymentCreate{Environment: "prod", Digest: digest})
}

func TestGateRequiresMetPoliciesForTheExactDigest(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		g := newGated(t, engine)
		_, err := g.deploy(g.alice, g.digestA)
		wantErr(t, err, gatehouse.KindPreconditionFailed, "gated by prod-gate v1", "no open approval request for "+g.digestA)

		r := g.request(g.alice, g.digestA)
		if r.State != gatehouse.ApprovalPending || len(r.Policies) != 1 || r.Policies[0] != (gatehouse.PolicyRef{Name: "prod-gate", Version: 1}) ||
			r.ExpiresAt == nil || r.ExpiresAt.Sub(r.CreatedAt) != 72*time.Hour {
			t.Fatalf("request = %+v", r)
		}
		var notified []string
		for _, n := range g.q.notifications() {
			if n.Event == gatehouse.EventApprovalRequested {
				notified = append(notified, n.User)
			}
		}
		if strings.Join(notified, ",") != "bob,carol" { // alice requested it, so she may not approve
			t.Fatalf("requested notifications went to %v, want every eligible approver", notified)
		}
		_, err = g.approvals.RequestApproval(g.alice, "shop", "web", gatehouse.ApprovalCreate{Environment: "prod", Digest: g.digestA})
		wantErr(t, err, gatehouse.KindConflict, "already open")

		// The requester may not approve, even with a second token of her own.
		_, err = g.approvals.Approve(g.alice, r.ID, gatehouse.Decision{})
		wantErr(t, err, gatehouse.KindForbidden, "alice requested it")
		second, err := g.identity.LoginToken(context.Background(), gatehouse.Credentials{Name: "alice", Password: gatehouse.NewSecret(password)}, gatehouse.TokenCreate{Name: "second"})
		g.must(err)
		aliceAgain, err := g.identity.AuthenticateToken(context.Background(), gatehouse.NewSecret(second.Secret))
		g.must(err)
		_, err = g.approvals.Approve(gatehouse.WithActor(context.Background(), aliceAgain), r.ID, gatehouse.Decision{})
		wantErr(t, err, gatehouse.KindForbidden, "alice requested it")
		// API tokens made for scripts never approve, whoever owns them.
		script, err := g.identity.CreateToken(g.bob, "", gatehouse.TokenCreate{Name: "script"})
		g.must(err)
		bobScript, err := g.identity.AuthenticateToken(context.Background(), gatehouse.NewSecret(script.Secret))
		g.must(err)
		_, err = g.approvals.Approve(gatehouse.WithActor(context.Background(), bobScript), r.ID, gatehouse.Decision{})
		wantErr(t, err, gatehouse.KindForbidden, "API tokens and service accounts never approve")

		r, err = g.approvals.Approve(g.bob, r.ID, gatehouse.Decision{Comment: "lgtm"})
		g.must(err)
		if r.State != gatehouse.ApprovalPending || r.Verdicts[0].Met {
			t.Fatalf("after bob: %+v", r)
		}
		_, err = g.approvals.Approve(g.bob, r.ID, gatehouse.Decision{})
		wantErr(t, err, gatehouse.KindConflict, "bob already voted")
		_, err = g.deploy(g.alice, g.digestA)
		wantErr(t, err, gatehouse.KindPreconditionFailed, "is pending", "needs 1 more approval from group security")

		r, err = g.approvals.Approve(g.carol, r.ID, gatehouse.Decision{})
		g.must(err)
		if r.State != gatehouse.ApprovalApproved || !r.Verdicts[0].Met {
			t.Fatalf("after carol: %+v", r)
		}
		// An approver may not deploy what they approved.
		_, err = g.deploy(g.bob, g.digestA)
		wantErr(t, err, gatehouse.KindForbidden, "bob approved this image for prod and may not deploy it")
		// Another digest is not approved by this request, whatever tags say.
		_, err = g.arts.UpdateArtifact(g.admin, "shop", "web", g.digestB, gatehouse.ArtifactUpdate{AddTags: []string{"1.0"}})
		g.must(err)
		_, err = g.deploy(g.alice, g.digestB)
		wantErr(t, err, gatehouse.KindPreconditionFailed, "no open approval request for "+g.digestB)

		d, err := g.deploy(g.alice, g.digestA)
		g.must(err)
		after, err := g.approvals.Approval(g.admin, r.ID)
		g.must(err)
		if after.State != gatehouse.ApprovalConsumed || after.Deployment != d.ID {
			t.Fatalf("after deploy the request is %s (deployment %d)", after.State, after.Deployment)
		}
		// One approval buys one deployment.
		_, err = g.deploy(g.alice, g.digestA)
		wantErr(t, err, gatehouse.KindPreconditionFailed, "no open approval request")
		ev, err := g.audit.AuditEvents(g.admin, gatehouse.AuditFilter{Action: "deployment.create", Env: "prod", Project: "shop"})
		g.must(err)
		if len(ev) != 1 || !strings.Contains(string(ev[0].Details), `"approvers":["bob","carol"]`) {
			t.Fatalf("deployment audit = %s", ev[0].Details)
		}
	})
}

func TestBuilderAndServiceAccountsDoNotApprove(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		g := newGated(t, engine)
		// A vote where prod-gate counts it is given through prod-gate's approvers.
		_, err := g.bindings.CreateRoleBinding(g.admin, gatehouse.RoleBindingCreate{User: "dan", Role: gatehouse.RoleImageApprover, Scope: "project:shop"})
		wantErr(t, err, gatehouse.KindPreconditionFailed, "access of user dan is protected by policy prod-gate", "--kind access")
		g.grantThrough(gatehouse.DraftRef{User: "dan"}, []string{"image-approver@project:shop"}, nil, g.bob, g.carol)
		r := g.request(g.alice, g.digestB) // built by dan
		_, err = g.approvals.Approve(g.login("dan"), r.ID, gatehouse.Decision{})
		wantErr(t, err, gatehouse.KindForbidden, "dan built it")
		// The policy may allow builders; the change makes the open request stale.
		// Letting builders approve loosens the policy: its own approvers agree to it.
		g.policy.BuilderMayApprove = true
		_, err = g.policies.UpdatePolicy(g.admin, "prod-gate", g.policy)
		wantErr(t, err, gatehouse.KindPreconditionFailed, "changes go through a draft")
		g.loosen(g.policy, g.bob, g.carol)
		stale, err := g.approvals.Approval(g.admin, r.ID)
		g.must(err)
		if stale.State != gatehouse.ApprovalStale || !strings.Contains(stale.Reason, "policy prod-gate changed (now version 2)") {
			t.Fatalf("after a policy change the request is %s: %q", stale.State, stale.Reason)
		}
		_, err = g.approvals.Approve(g.bob, r.ID, gatehouse.Decision{})
		wantErr(t, err, gatehouse.KindPreconditionFailed, "is stale")
		r = g.request(g.alice, g.digestB)
		if r.Policies[0].Version != 2 {
			t.Fatalf("new request judged by %+v", r.Policies)
		}
		_, err = g.approvals.Approve(g.login("dan"), r.ID, gatehouse.Decision{})
		g.must(err)
	})
}

func TestEligibilityIsCheckedAgainAtDeployTime(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		g := newGated(t, engine)
		r := g.request(g.alice, g.digestA)
		_, err := g.approvals.Approve(g.bob, r.ID, gatehouse.Decision{})
		g.must(err)
		_, err = g.approvals.Approve(g.carol, r.ID, gatehouse.Decision{})
		g.must(err)
		_, err = g.groups.RemoveGroupMember(g.admin, "security", "carol")
		g.must(err)
		_, err = g.deploy(g.alice, g.digestA)
		wantErr(t, err, gatehouse.KindPreconditionFailed, "no longer met", "needs 1 more approval from group security")
		// Back in the group, carol would count again: with nobody else left in it to meet
		// prod-gate, the lock-out rule judges that — a manager who is not its author.
		_, err = g.groups.AddGroupMember(g.admin, "security", "carol")
		wantErr(t, err, gatehouse.KindPreconditionFailed, "access of group security is protected by policy prod-gate")
		g.grantThrough(gatehouse.DraftRef{Group: "security"}, nil, []string{"carol"}, g.dave)
		ev, err := g.audit.AuditEvents(g.admin, gatehouse.AuditFilter{Action: "draft.published"})
		g.must(err)
		if last := ev[len(ev)-1]; !strings.Contains(string(last.Details), `"lockout":true`) {
			t.Fatalf("carol's return was not judged by the lock-out rule: %s", last.Details)
		}
		// A condition added to the policy makes the request stale; conditions are checked
		// again at deploy time, so a tag moved away after approval also stops the deploy.
		// Labels are fixed at push, and a note of the same name satisfies nothing.
		g.policy.Conditions = []string{`artifact.labels["qa"] == "passed" && "release" in artifact.tags`}
		_, err = g.policies.UpdatePolicy(g.admin, "prod-gate", g.policy)
		g.must(err)
		_, err = g.deploy(g.alice, g.digestA)
		wantErr(t, err, gatehouse.KindPreconditionFailed, "fails policy prod-gate")
		_, err = g.approvals.RequestApproval(g.alice, "shop", "web", gatehouse.ApprovalCreate{Environment: "prod", Digest: g.digestA})
		wantErr(t, err, gatehouse.KindPreconditionFailed, `artifact.labels["qa"] == "passed"`)
		_, err = g.arts.UpdateArtifact(g.admin, "shop", "web", g.digestA, gatehouse.ArtifactUpdate{SetLabels: map[string]string{"qa": "passed"}})
		wantErr(t, err, gatehouse.KindInvalid, "set_labels", "fixed at push")
		_, err = g.arts.UpdateArtifact(g.admin, "shop", "web", g.digestA, gatehouse.ArtifactUpdate{SetNotes: map[string]string{"qa": "passed"}, AddTags: []string{"release"}})
		g.must(err)
		_, err = g.approvals.RequestApproval(g.alice, "shop", "web", gatehouse.ApprovalCreate{Environment: "prod", Digest: g.digestA})
		wantErr(t, err, gatehouse.KindPreconditionFailed, `artifact.labels["qa"] == "passed"`)
		_, err = g.arts.CreateArtifact(g.admin, "shop", "web", gatehouse.ArtifactCreate{Image: "r.example.com/web:release@" + g.d3, Labels: map[string]string{"qa": "passed"}})
		g.must(err)
		r = g.request(g.alice, g.d3)
		_, err = g.approvals.Approve(g.bob, r.ID, gatehouse.Decision{})
		g.must(err)
		_, err = g.approvals.Approve(g.carol, r.ID, gatehouse.Decision{})
		g.must(err)
		_, err = g.arts.UpdateArtifact(g.admin, "shop", "web", g.digestA, gatehouse.ArtifactUpdate{AddTags: []string{"release"}})
		g.must(err)
		_, err = g.deploy(g.alice, g.d3)
		wantErr(t, err, gatehouse.KindPreconditionFailed, "fails policy prod-gate")
	})
}

func TestRejectCancelExpireAndRetract(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		g := newGated(t, engine)
		r := g.request(g.alice, g.digestA)
		_, err := g.approvals.Reject(g.carol, r.ID, gatehouse.Decision{})
		wantErr(t, err, gatehouse.KindInvalid, "comment")
		_, err = g.approvals.Cancel(g.bob, r.ID)
		wantErr(t, err, gatehouse.KindForbidden, "only its requester (alice)")
		r, err = g.approvals.Reject(g.carol, r.ID, gatehouse.Decision{Comment: "CVE-2026-1234 not fixed"})
		g.must(err)
		if r.State != gatehouse.ApprovalRejected || r.Reason != "CVE-2026-1234 not fixed" {
			t.Fatalf("rejected = %+v", r)
		}
		_, err = g.approvals.Approve(g.bob, r.ID, gatehouse.Decision{})
		wantErr(t, err, gatehouse.KindPreconditionFailed, "is rejected")

		r = g.request(g.alice, g.digestA)
		r, err = g.approvals.Cancel(g.alice, r.ID)
		g.must(err)
		if r.State != gatehouse.ApprovalCancelled {
			t.Fatalf("cancelled = %s", r.State)
		}

		r = g.request(g.alice, g.digestA)
		g.clock.Advance(73 * time.Hour)
		_, err = g.approvals.Approve(g.bob, r.ID, gatehouse.Decision{})
		wantErr(t, err, gatehouse.KindPreconditionFailed, "expired")
		if got, _ := g.approvals.Approval(g.admin, r.ID); got.State != gatehouse.ApprovalExpired {
			t.Fatalf("the expiry did not stick: %s", got.State)
		}
		r = g.request(g.alice, g.digestA)
		g.clock.Advance(73 * time.Hour)
		n, err := g.db.ExpireApprovals(context.Background())
		g.must(err)
		if got, _ := g.approvals.Approval(g.admin, r.ID); n != 1 || got.State != gatehouse.ApprovalExpired {
			t.Fatalf("sweep expired %d; request %s", n, got.State)
		}

		r = g.request(g.alice, g.digestA)
		_, err = g.arts.RetractArtifact(g.admin, "shop", "web", g.digestA)
		g.must(err)
		if got, _ := g.approvals.Approval(g.admin, r.ID); got.State != gatehouse.ApprovalStale || !strings.Contains(got.Reason, "retracted") {
			t.Fatalf("after retraction the request is %s: %s", got.State, got.Reason)
		}
		var events []string
		for _, n := range g.q.notifications() {
			if n.User == "alice" {
				events = append(events, n.Event)
			}
		}
		for _, want := range []string{"approval.rejected", "approval.expired", "approval.stale"} {
			if !strings.Contains(strings.Join(events, ","), want) {
				t.Fatalf("alice was told %v, not %s", events, want)
			}
		}
	})
}

func TestRollbackNeedsApprovalUnlessPreApproved(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		g := newGated(t, engine)
		deployApproved := func(digest string) *gatehouse.Deployment {
			r := g.request(g.alice, digest)
			_, err := g.approvals.Approve(g.bob, r.ID, gatehouse.Decision{})
			g.must(err)
			_, err = g.approvals.Approve(g.carol, r.ID, gatehouse.Decision{})
			g.must(err)
			d, err := g.deploy(g.alice, digest)
			g.must(err)
			_, err = g.db.ClaimDeployment(context.Background(), d.ID, "w", time.Minute)
			g.must(err)
			g.must(g.db.AdvanceDeployment(context.Background(), d.ID, "w", sqlstore.Outcome{}, gatehouse.StateVerifying, gatehouse.StatePostDeploy, gatehouse.StateSucceeded))
			return d
		}
		first := deployApproved(g.digestA)
		deployApproved(g.digestB)
		_, err := g.deps.Rollback(g.alice, "shop", "web", first.ID)
		wantErr(t, err, gatehouse.KindPreconditionFailed, "no open approval request for "+g.digestA)
		g.policy.Rollback = gatehouse.RollbackPreApproved
		g.loosen(g.policy, g.bob, g.carol)
		rb, err := g.deps.Rollback(g.alice, "shop", "web", first.ID)
		g.must(err)
		finish := func(id int64) {
			_, err := g.db.ClaimDeployment(context.Background(), id, "w", time.Minute)
			g.must(err)
			g.must(g.db.AdvanceDeployment(context.Background(), id, "w", sqlstore.Outcome{}, gatehouse.StateVerifying, gatehouse.StatePostDeploy, gatehouse.StateSucceeded))
		}
		finish(rb.ID)
		ev, err := g.audit.AuditEvents(g.admin, gatehouse.AuditFilter{Action: "deployment.create", Project: "shop", Env: "prod"})
		g.must(err)
		last := ev[len(ev)-1]
		if last.Resource != fmt.Sprintf("deployment/%d", rb.ID) || !strings.Contains(string(last.Details), `"pre_approved_rollback":true`) {
			t.Fatalf("rollback audited as %s %s", last.Resource, last.Details)
		}
		// Only artifacts that went through the gate roll back pre-approved: a deployment from
		// before the stage was gated does not count.
		g.passDraft(g.admin, gatehouse.DraftRef{Kind: gatehouse.DraftPolicy, Policy: "prod-gate"}, "", g.bob, g.carol)
		ungated, err := g.deploy(g.alice, g.d3Ensure())
		g.must(err)
		finish(ungated.ID)
		_, err = g.policies.CreatePolicy(g.admin, g.policy)
		g.must(err)
		_, err = g.deps.Rollback(g.alice, "shop", "web", ungated.ID)
		wantErr(t, err, gatehouse.KindPreconditionFailed, "no open approval request")
	})
}

// d3Ensure registers the third digest once and returns it.
func (g *gated) d3Ensure() string {
	g.t.Helper()
	if _, err := g.arts.Artifact(g.admin, "shop", "web", g.d3); err != nil {
		_, err := g.arts.CreateArtifact(g.admin, "shop", "web", gatehouse.ArtifactCreate{Image: "r.example.com/web@" + g.d3})
		g.must(err)
	}
	return g.d3
}

func TestApprovalOnAnAutoStageDeploysAtOnce(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		g := newGated(t, engine)
		// prod's stage is a gated setting now: its approvers make it auto.
		g.passDraft(g.admin, gatehouse.DraftRef{Kind: gatehouse.DraftPipeline, Project: "shop", App: "web"},
			"stages:\n  - environment: prod\n    trigger: auto\n", g.bob, g.carol)
		r := g.request(g.alice, g.digestA)
		_, err := g.approvals.Approve(g.bob, r.ID, gatehouse.Decision{})
		g.must(err)
		r, err = g.approvals.Approve(g.carol, r.ID, gatehouse.Decision{})
		g.must(err)
		if r.State != gatehouse.ApprovalConsumed || r.Deployment == 0 || r.DecidedAt == nil {
			t.Fatalf("the final approval answered %s, deployment %d", r.State, r.Deployment)
		}
		d, err := g.deps.Deployment(g.admin, "shop", "web", r.Deployment)
		g.must(err)
		if d.Digest != g.digestA || d.TriggeredBy != fmt.Sprintf("pipeline (approval %d)", r.ID) {
			t.Fatalf("deployment %+v", d)
		}
		if ids := g.q.got(); ids[len(ids)-1] != d.ID {
			t.Fatalf("deployment %d was not queued (%v)", d.ID, ids)
		}
	})
}
