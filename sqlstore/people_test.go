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

// TestSeparationOfDutiesComparesPeople (finding 4): one person who holds an approver role and
// made the CI token cannot meet a one-approver policy alone — what the token does counts as
// theirs (push, request, deploy), and a builder it names is claimed, never a way to clear
// them.
func TestSeparationOfDutiesComparesPeople(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		g := newGated(t, engine)
		// A manual stage qa, gated by one approver.
		_, err := g.envs.CreateEnvironment(g.admin, "shop", gatehouse.EnvironmentCreate{Name: "qa", Cluster: "c1", Namespace: "shop-qa"})
		g.must(err)
		_, err = g.pipes.SetPipeline(g.admin, "shop", "web", gatehouse.PipelineSet{Stages: []gatehouse.Stage{{Environment: "dev"},
			{Environment: "stage", After: "dev", Trigger: "auto"}, {Environment: "prod", After: "stage", AutoRollback: true, Timeout: "30s"},
			{Environment: "qa"}}})
		g.must(err)
		_, err = g.policies.CreatePolicy(g.admin, gatehouse.PolicySpec{Name: "qa-gate", Scope: "project:shop/env:qa",
			Rules: []gatehouse.Rule{{Kind: gatehouse.RuleAny, Count: 1}}})
		g.must(err)
		// The super-admin made ci2's token, and gives itself the approver role.
		ci := g.serviceAccount("ci2", "deployer@project:shop")
		if who := gatehouse.ActorFrom(ci); who.Person != "admin" {
			t.Fatalf("ci2's token counts as %q, want its maker admin", who.Person)
		}
		// The vote it gives itself is judged by the approvers of the gates it reaches.
		g.grantThrough(gatehouse.DraftRef{User: "admin"}, []string{"image-approver@project:shop"}, nil, g.bob, g.carol)
		admin := g.login("admin")
		d := "sha256:" + strings.Repeat("4", 64)
		art, err := g.arts.CreateArtifact(ci, "shop", "web", gatehouse.ArtifactCreate{Image: "r.example.com/web@" + d, Builder: "somebody-else"})
		g.must(err)
		if art.Builder != "somebody-else" || art.Pusher != "admin" || art.CreatedBy != "ci2" {
			t.Fatalf("artifact %+v", art)
		}
		r, err := g.approvals.RequestApproval(ci, "shop", "web", gatehouse.ApprovalCreate{Environment: "qa", Digest: d})
		g.must(err)
		if r.Requester != "ci2" || r.RequesterPerson != "admin" {
			t.Fatalf("request raised by %s for %s", r.Requester, r.RequesterPerson)
		}
		_, err = g.approvals.Approve(admin, r.ID, gatehouse.Decision{})
		wantErr(t, err, gatehouse.KindForbidden, "admin requested it")
		// Someone else approves; the token's deploy counts as admin's, who did not approve.
		_, err = g.approvals.Approve(g.carol, r.ID, gatehouse.Decision{})
		g.must(err)
		if _, err := g.deps.Deploy(ci, "shop", "web", gatehouse.DeploymentCreate{Environment: "qa", Digest: d}); err != nil {
			t.Fatalf("deploy by another person than the approver: %v", err)
		}
		// carol approves the next one and deploys it through a token of her own: still carol.
		d2 := "sha256:" + strings.Repeat("5", 64)
		_, err = g.arts.CreateArtifact(ci, "shop", "web", gatehouse.ArtifactCreate{Image: "r.example.com/web@" + d2})
		g.must(err)
		r, err = g.approvals.RequestApproval(ci, "shop", "web", gatehouse.ApprovalCreate{Environment: "qa", Digest: d2})
		g.must(err)
		_, err = g.approvals.Approve(g.carol, r.ID, gatehouse.Decision{})
		g.must(err)
		g.bind("carol", "deployer@project:shop")
		tok, err := g.identity.CreateToken(g.login("carol"), "", gatehouse.TokenCreate{Name: "script"})
		g.must(err)
		viaToken, err := g.identity.AuthenticateToken(context.Background(), gatehouse.NewSecret(tok.Secret))
		g.must(err)
		_, err = g.deps.Deploy(gatehouse.WithActor(context.Background(), viaToken), "shop", "web", gatehouse.DeploymentCreate{Environment: "qa", Digest: d2})
		wantErr(t, err, gatehouse.KindForbidden, "carol approved this image")
		// The pusher counts as a builder too: admin may not approve what its CI token pushed.
		r3 := "sha256:" + strings.Repeat("6", 64)
		_, err = g.arts.CreateArtifact(ci, "shop", "web", gatehouse.ArtifactCreate{Image: "r.example.com/web@" + r3, Builder: "dan"})
		g.must(err)
		req, err := g.approvals.RequestApproval(g.alice, "shop", "web", gatehouse.ApprovalCreate{Environment: "qa", Digest: r3})
		g.must(err)
		_, err = g.approvals.Approve(admin, req.ID, gatehouse.Decision{})
		wantErr(t, err, gatehouse.KindForbidden, "admin built it")
		toks, err := g.identity.Tokens(g.admin, "ci2")
		g.must(err)
		if len(toks) != 1 || toks[0].MadeBy != "admin" {
			t.Fatalf("tokens %+v", toks)
		}
	})
}

// TestVotesNameTheVersionTheyReviewed (finding 5): a vote for a draft version that is no
// longer the latest is refused — by the service and through an approve link — and a vote
// that names no version is refused too.
func TestVotesNameTheVersionTheyReviewed(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		w := newConfigWorld(t, engine)
		w.protect(gatehouse.PolicySpec{})
		d, err := w.drafts.CreateDraft(w.ed, configDraft(ref("prod", gatehouse.ConfigMapData), gatehouse.ConfigWrite{Content: "A: \"1\"\n"}))
		w.must(err)
		_, err = w.drafts.ProposeDraft(w.ed, d.ID, gatehouse.DraftPropose{})
		w.must(err)
		seen, err := w.drafts.Draft(w.cora, d.ID) // cora opens the page: version 1
		w.must(err)
		link, err := w.db.CreateLink(context.Background(), gatehouse.FlowDraft, d.ID, "carl", time.Hour)
		w.must(err)
		_, err = w.drafts.EditDraft(w.erin, d.ID, gatehouse.ConfigWrite{Content: "A: \"1\"\nDEBUG: \"on\"\n", BaseVersion: 1})
		w.must(err)
		_, err = w.drafts.ApproveDraft(w.cora, d.ID, gatehouse.Decision{Version: seen.Version})
		wantErr(t, err, gatehouse.KindConflict, "changed since you looked", "review version 2")
		_, err = w.drafts.ApproveDraft(w.cora, d.ID, gatehouse.Decision{})
		wantErr(t, err, gatehouse.KindInvalid, "version")
		// carl read version 1 from his mail; his vote comes after version 2.
		links := sqlstore.NewLinkService(w.db)
		_, err = links.RedeemLink(context.Background(), link, true, gatehouse.Decision{Version: 1})
		wantErr(t, err, gatehouse.KindConflict, "changed since you looked")
		if b, err := links.LinkBallot(context.Background(), link); err != nil || b.Draft.Version != 2 {
			t.Fatalf("the refused vote spent the link, or the link shows another version: %+v %v", b, err)
		}
		got, err := w.drafts.Draft(w.admin, d.ID)
		w.must(err)
		if len(got.Votes) != 0 || got.State != gatehouse.DraftProposed {
			t.Fatalf("refused votes left %+v, state %s", got.Votes, got.State)
		}
		got, err = w.drafts.ApproveDraft(w.cora, d.ID, gatehouse.Decision{Version: 2})
		w.must(err)
		if got.State != gatehouse.DraftApproved || got.Votes[0].Version != 2 {
			t.Fatalf("vote for version 2: %s %+v", got.State, got.Votes)
		}
	})
}
