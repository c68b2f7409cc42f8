package sqlstore_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// TestRollbackToOtherProtectedConfigNeedsItsApproval (finding 6): rolling back to a deployment
// made with a secret that an approved draft rotated since would restore the old secret; where
// a config policy protects it, that takes a rollback draft its approvers judge, whose change
// shows what the rollback applies (the image, which secret keys change). A rollback to the
// live configuration goes straight through, and so does any once the policy pre-approves the
// configuration of rollbacks (a loosening, approved itself).
func TestRollbackToOtherProtectedConfigNeedsItsApproval(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		w := newConfigWorld(t, engine)
		_, err := w.arts.CreateArtifact(w.admin, "shop", "web", gatehouse.ArtifactCreate{Image: "r.example.com/web:2.0@" + digest2})
		w.must(err)
		w.protect(gatehouse.PolicySpec{})
		secrets := gatehouse.DraftRef{Kind: gatehouse.DraftSecrets, Project: "shop", App: "web", Environment: "prod"}
		deploy := func(digest string) *gatehouse.Deployment {
			d, err := w.deps.Deploy(w.erin, "shop", "web", gatehouse.DeploymentCreate{Environment: "prod", Digest: digest})
			w.must(err)
			w.succeed(d.ID)
			return d
		}
		w.passDraft(w.ed, secrets, "TOKEN: "+plantedSecret+"-old\n", w.cora)
		first := deploy(digest1)
		w.passDraft(w.ed, secrets, "TOKEN: "+plantedSecret+"-new\n", w.cora)
		second := deploy(digest2)

		_, err = w.deps.Rollback(w.erin, "shop", "web", first.ID)
		wantErr(t, err, gatehouse.KindPreconditionFailed, "rollback of shop/web in prod is protected by policy prod-config")
		rb := gatehouse.DraftRef{Kind: gatehouse.DraftRollback, Project: "shop", App: "web", Environment: "prod"}
		// What runs now shows no secret's mark: a stable mark would fingerprint its value.
		live, err := w.drafts.Live(w.cora, rb)
		w.must(err)
		if strings.Contains(live.Content, "mark:") || !strings.Contains(live.Content, "TOKEN: "+gatehouse.Masked) {
			t.Fatalf("live of a rollback shows %q", live.Content)
		}
		d, err := w.drafts.CreateDraft(w.erin, gatehouse.DraftCreate{DraftRef: rb, ConfigWrite: gatehouse.ConfigWrite{Content: "deployment: " + strconv.FormatInt(first.ID, 10)}})
		w.must(err)
		var shown []string
		for _, c := range d.Change.Changes {
			shown = append(shown, c.String())
			if strings.Contains(c.Old+c.New, plantedSecret) {
				t.Fatalf("the rollback's change shows a secret: %+v", c)
			}
		}
		if all := strings.Join(shown, "; "); !strings.Contains(all, "secrets.TOKEN") || !strings.Contains(all, "image.digest") {
			t.Fatalf("the rollback's change does not show what it applies: %s", all)
		}
		_, err = w.drafts.ProposeDraft(w.erin, d.ID, gatehouse.DraftPropose{})
		w.must(err)
		_, err = w.drafts.ApproveDraft(w.cora, d.ID, gatehouse.Decision{Version: 1})
		w.must(err)
		d, err = w.drafts.PublishDraft(w.erin, d.ID)
		w.must(err)
		back, err := w.deps.Deployment(w.admin, "shop", "web", d.PublishedRevision)
		w.must(err)
		if back.Kind != gatehouse.KindRollback || back.RollbackOf != first.ID {
			t.Fatalf("publishing made %+v", back)
		}
		w.succeed(back.ID)
		// Back to the live configuration (second's): nothing protected changes, so it goes
		// straight through.
		again, err := w.deps.Rollback(w.erin, "shop", "web", second.ID)
		if err != nil {
			t.Fatalf("a rollback to the live configuration: %v", err)
		}
		w.succeed(again.ID)
		// Once the policy pre-approves the configuration of rollbacks (approved itself), any goes.
		spec := gatehouse.PolicySpec{Name: "prod-config", Kind: gatehouse.PolicyConfig, Scope: "project:shop/env:prod",
			Rules: []gatehouse.Rule{{Kind: gatehouse.RuleAny, Count: 1}}, ConfigRollback: gatehouse.RollbackPreApproved}
		_, err = w.policies.UpdatePolicy(w.admin, "prod-config", spec)
		wantErr(t, err, gatehouse.KindPreconditionFailed, "changes go through a draft")
		text, err := gatehouse.RenderSetting(spec)
		w.must(err)
		w.passDraft(w.admin, gatehouse.DraftRef{Kind: gatehouse.DraftPolicy, Policy: "prod-config"}, text, w.cora)
		if _, err := w.deps.Rollback(w.erin, "shop", "web", first.ID); err != nil {
			t.Fatalf("a pre-approved rollback: %v", err)
		}
	})
}
