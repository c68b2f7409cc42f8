package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// notified lists "event:user" (or "event:webhook") of the queued notifications.
func (g *gated) notified() []string {
	var out []string
	for _, n := range g.q.notifications() {
		who := n.User
		if n.WebhookID != 0 {
			who = "webhook"
		}
		out = append(out, n.Event+":"+who)
	}
	return out
}

// TestRequestsTellWhoTheyConcern: the project's webhooks hear of the events they asked for
// (and only those); a deployment that spends an approval tells its requester; a policy change
// makes every open request it judged stale, each requester told; a proposal notifies the
// approvers chosen, or all who may approve.
func TestRequestsTellWhoTheyConcern(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		g := newGated(t, engine)
		hooks := sqlstore.NewWebhookService(g.db)
		for _, events := range [][]string{{gatehouse.EventApprovalRequested}, {gatehouse.EventApprovalDeployed}} {
			_, err := hooks.CreateWebhook(g.admin, "shop", gatehouse.WebhookCreate{Name: events[0][len("approval."):], URL: gatehouse.NewSecret("https://hooks.example.com/x"), Events: events})
			g.must(err)
		}
		r := g.request(g.alice, g.digestA)
		if got := g.notified(); slices.Index(got, "approval.requested:webhook") != slices.IndexFunc(got, func(s string) bool { return strings.HasSuffix(s, ":webhook") }) ||
			strings.Count(strings.Join(got, " "), ":webhook") != 1 {
			t.Fatalf("after the request, one webhook (the one that asked) hears of it: %v", got)
		}
		for _, who := range []context.Context{g.bob, g.carol} {
			_, err := g.approvals.Approve(who, r.ID, gatehouse.Decision{})
			g.must(err)
		}
		_, err := g.deploy(g.alice, g.digestA)
		g.must(err)
		if got := g.notified(); !slices.Contains(got, "approval.deployed:alice") || !slices.Contains(got, "approval.deployed:webhook") {
			t.Fatalf("after the deployment: %v", got)
		}
		// A proposal notifies the chosen approver only.
		d, err := g.drafts.CreateDraft(g.admin, gatehouse.DraftCreate{DraftRef: gatehouse.DraftRef{Kind: gatehouse.DraftAccess, User: "dan"},
			ConfigWrite: gatehouse.ConfigWrite{Content: "roles:\n- {role: image-approver, scope: 'project:shop/env:prod'}\n"}})
		g.must(err)
		before := len(g.q.notifications())
		_, err = g.drafts.ProposeDraft(g.admin, d.ID, gatehouse.DraftPropose{Notify: []string{"carol"}})
		g.must(err)
		var told []string
		for _, n := range g.q.notifications()[before:] {
			told = append(told, n.User)
		}
		if strings.Join(told, ",") != "carol" {
			t.Fatalf("proposing to carol told %v", told)
		}
		// Two open requests, a policy change: both stale.
		_, err = g.arts.CreateArtifact(g.admin, "shop", "web", gatehouse.ArtifactCreate{Image: "r.example.com/web@" + g.d3})
		g.must(err)
		a, b := g.request(g.alice, g.digestB), g.request(g.bob, g.d3)
		tighter := g.policy
		tighter.Rules = append(slices.Clone(g.policy.Rules), gatehouse.Rule{Kind: gatehouse.RuleAny, Count: 2})
		_, err = g.policies.UpdatePolicy(g.admin, "prod-gate", tighter)
		g.must(err)
		for _, id := range []int64{a.ID, b.ID} {
			if got, err := g.approvals.Approval(g.admin, id); err != nil || got.State != gatehouse.ApprovalStale {
				t.Fatalf("request %d after the policy changed: %+v %v", id, got, err)
			}
		}
		if got := g.notified(); !slices.Contains(got, "approval.stale:alice") || !slices.Contains(got, "approval.stale:bob") {
			t.Fatalf("after the policy change: %v", got)
		}
	})
}

// TestBallotWords: what refusals and the trail say of a ballot names it and the version a
// vote was for; a draft's move touches its time of change; a comment of exactly 4096 bytes is
// taken, one more byte is not.
func TestBallotWords(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		g := newGated(t, engine)
		r := g.request(g.alice, g.digestA)
		_, err := g.approvals.Approve(g.bob, r.ID, gatehouse.Decision{Comment: strings.Repeat("x", 4096)})
		g.must(err)
		_, err = g.approvals.Approve(g.bob, r.ID, gatehouse.Decision{})
		wantErr(t, err, gatehouse.KindConflict, fmt.Sprintf("bob already voted on approval request %d", r.ID))
		_, err = g.approvals.Approve(g.carol, r.ID, gatehouse.Decision{Comment: strings.Repeat("x", 4097)})
		wantErr(t, err, gatehouse.KindInvalid, "comment", "expected at most 4096")

		d, err := g.drafts.CreateDraft(g.admin, gatehouse.DraftCreate{DraftRef: gatehouse.DraftRef{Kind: gatehouse.DraftAccess, User: "dan"},
			ConfigWrite: gatehouse.ConfigWrite{Content: "roles:\n- {role: image-approver, scope: 'project:shop/env:prod'}\n"}})
		g.must(err)
		g.clock.Advance(time.Minute)
		d, err = g.drafts.ProposeDraft(g.admin, d.ID, gatehouse.DraftPropose{})
		g.must(err)
		if !d.UpdatedAt.Equal(g.clock.Now()) {
			t.Fatalf("the proposal did not touch the draft: updated %v, now %v", d.UpdatedAt, g.clock.Now())
		}
		_, err = g.drafts.ApproveDraft(g.bob, d.ID, gatehouse.Decision{Version: 1})
		g.must(err)
		_, err = g.drafts.ApproveDraft(g.bob, d.ID, gatehouse.Decision{Version: 1})
		wantErr(t, err, gatehouse.KindConflict, fmt.Sprintf("bob already voted on version 1 of draft %d", d.ID))
		for _, action := range []string{"draft.vote", "draft.proposed"} {
			ev, err := g.audit.AuditEvents(g.admin, gatehouse.AuditFilter{Action: action})
			g.must(err)
			if len(ev) == 0 || !strings.Contains(string(ev[len(ev)-1].Details), `"version":1`) {
				t.Fatalf("the trail's %s event does not name the version: %+v", action, ev)
			}
		}
	})
}

// TestReleaseReachesOnlyUnclaimedNamespaces: of the namespaces an environment lets its
// releases reach besides its own, the deploy job gets those no other environment claims.
func TestReleaseReachesOnlyUnclaimedNamespaces(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		_, deps := f.pipelineWorld()
		for _, allow := range [][]string{{}, {"monitoring", "shop-prod"}} {
			_, err := f.envs.UpdateEnvironment(f.admin, "shop", "dev", gatehouse.EnvironmentUpdate{AllowNamespaces: &allow})
			f.must(err)
			d, err := deps.Deploy(f.admin, "shop", "web", gatehouse.DeploymentCreate{Environment: "dev", Digest: digest1})
			f.must(err)
			job, err := f.db.ClaimDeployment(context.Background(), d.ID, "w", time.Minute)
			f.must(err)
			want := []string{}
			if len(allow) > 0 {
				want = []string{"monitoring"} // shop-prod is prod's
			}
			if !slices.Equal(job.AllowNamespaces, want) {
				t.Fatalf("allowing %v, the job may reach %v, want %v", allow, job.AllowNamespaces, want)
			}
			f.must(f.db.AdvanceDeployment(context.Background(), d.ID, "w", sqlstore.Outcome{Cause: "test"}, gatehouse.StateFailed))
		}
	})
}

// TestPolicyDraftContent: a policy draft may leave out the policy's name; a deletion
// drafted first and turned into a replacement says how the replacement loosens the policy.
func TestPolicyDraftContent(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		g := newGated(t, engine)
		ref := gatehouse.DraftRef{Kind: gatehouse.DraftPolicy, Policy: "prod-gate"}
		d, err := g.drafts.CreateDraft(g.admin, gatehouse.DraftCreate{DraftRef: ref})
		g.must(err)
		d, err = g.drafts.EditDraft(g.admin, d.ID, gatehouse.ConfigWrite{BaseVersion: 1,
			Content: "scope: project:shop/env:prod\nrules:\n- {kind: any, count: 1}\n"}) // no name: the policy's
		g.must(err)
		if !strings.Contains(strings.Join(d.Change.Labels, ";"), "asks for less than") {
			t.Fatalf("the replacement's loosening is not said: %+v", d.Change)
		}
	})
}
