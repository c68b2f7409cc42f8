package sqlstore_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

const emergency = "checkout is down for every customer: hotfix for INC-4711"

// TestBreakGlass: a person holding break-glass deploys through a freeze and past the image
// gate with a reason — never through a token, never without a reason, never as a service
// account, never where the role is not held. Each use is in the trail, told to the
// approvers passed over, badged on the deployment, and leaves a review that two of them (as
// the policy asks) acknowledge, with comments, before it is due; an overdue one is listed
// and told again once.
func TestBreakGlass(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		w := newWindowWorld(t, engine)
		reviews := sqlstore.NewReviewService(w.db)
		gate, err := sqlstore.NewPolicyService(w.db).Policy(w.admin, "prod-gate")
		w.must(err)
		stricter := gate.PolicySpec
		stricter.ReviewApprovers, stricter.ReviewWithin = 2, "24h"
		_, err = sqlstore.NewPolicyService(w.db).UpdatePolicy(w.admin, "prod-gate", stricter)
		w.must(err)
		z := w.push("a")
		now := w.clock.Now()
		w.window(w.admin, "name: freeze\nkind: deny\nscope: project:shop/env:prod\nstart: "+now.Add(-time.Hour).Format(time.RFC3339)+
			"\nend: "+now.Add(48*time.Hour).Format(time.RFC3339)+"\n")
		erin := w.login("erin")
		deploy := func(ctx context.Context, reason string) (*gatehouse.Deployment, error) {
			return w.deps.Deploy(ctx, "shop", "web", gatehouse.DeploymentCreate{Environment: "prod", Digest: z, BreakGlass: reason})
		}

		// Refusals, none of which deploys or opens a review.
		_, err = deploy(erin, "")
		wantErr(t, err, gatehouse.KindPreconditionFailed, "gated by prod-gate")
		_, err = deploy(erin, "prod is down")
		wantErr(t, err, gatehouse.KindInvalid, "break_glass", "expected a reason of 20")
		tok, err := w.identity.CreateToken(erin, "", gatehouse.TokenCreate{Name: "script"})
		w.must(err)
		viaToken, err := w.identity.AuthenticateToken(context.Background(), gatehouse.NewSecret(tok.Secret))
		w.must(err)
		_, err = deploy(gatehouse.WithActor(context.Background(), viaToken), emergency)
		wantErr(t, err, gatehouse.KindForbidden, "never through an API token")
		_, err = deploy(w.admin, emergency)
		wantErr(t, err, gatehouse.KindForbidden, "admin may not break the glass", "break-glass role")
		_, err = deploy(w.ci, emergency)
		wantErr(t, err, gatehouse.KindForbidden, "never through an API token or a service account")
		_, err = w.bindings.CreateRoleBinding(w.admin, gatehouse.RoleBindingCreate{User: "ci", Role: gatehouse.RoleBreakGlass, Scope: "project:shop/env:dev"})
		wantErr(t, err, gatehouse.KindInvalid, "service account")
		if n := w.countRows(`SELECT COUNT(*) FROM deployments WHERE environment_id = (SELECT id FROM environments WHERE name = 'prod')`); n != 0 {
			t.Fatalf("%d prod deployments after refusals", n)
		}

		// The emergency goes through, badged, and the approvers hear of it at once.
		d, err := deploy(erin, emergency)
		w.must(err)
		if d.BreakGlass != emergency || d.State != gatehouse.StateQueued {
			t.Fatalf("deployment %+v", d)
		}
		if ev := lastEvent(t, w, d.ID); !strings.Contains(ev, "break-glass by erin") {
			t.Fatalf("event %q", ev)
		}
		var told []string
		for _, n := range w.q.notifications() {
			if n.Event == gatehouse.EventBreakGlassUsed {
				told = append(told, n.User)
			}
		}
		if strings.Join(told, ",") != "bob,carol" {
			t.Fatalf("told %v", told)
		}
		evs, err := w.audit.AuditEvents(w.admin, gatehouse.AuditFilter{Action: "deployment.break_glass"})
		w.must(err)
		if len(evs) != 1 || !strings.Contains(string(mustJSON(t, evs[0].Details)), "prod-gate") || !strings.Contains(string(mustJSON(t, evs[0].Details)), "freeze") {
			t.Fatalf("audit %+v", evs)
		}

		// The review: bob and carol, not erin, acknowledge it with a comment.
		rs, err := reviews.Reviews(w.admin, gatehouse.ReviewFilter{State: gatehouse.ReviewOpen})
		w.must(err)
		if len(rs) != 1 || rs[0].Deployment != d.ID || rs[0].Overdue || !rs[0].DueAt.Equal(now.Add(24*time.Hour)) ||
			strings.Join(rs[0].Skipped, ",") != "prod-gate" || strings.Join(rs[0].Windows, ",") != "freeze" {
			t.Fatalf("reviews %+v", rs)
		}
		id := rs[0].ID
		_, err = reviews.AcknowledgeReview(w.bob, id, gatehouse.Decision{})
		wantErr(t, err, gatehouse.KindInvalid, "comment")
		_, err = reviews.AcknowledgeReview(w.login("erin"), id, gatehouse.Decision{Comment: "it was me, all fine"})
		wantErr(t, err, gatehouse.KindForbidden)
		r, err := reviews.AcknowledgeReview(w.bob, id, gatehouse.Decision{Comment: "read the hotfix diff"})
		w.must(err)
		if r.State != gatehouse.ReviewOpen {
			t.Fatalf("one of two: %s", r.State)
		}

		// Past due it is listed as overdue and told of again, once.
		w.clock.Advance(25 * time.Hour)
		over, err := reviews.Reviews(w.bob, gatehouse.ReviewFilter{Overdue: true})
		w.must(err)
		if len(over) != 1 || !over[0].Overdue {
			t.Fatalf("overdue %+v", over)
		}
		for range 2 {
			_, err := w.db.RemindOverdueReviews(context.Background())
			w.must(err)
		}
		reminded := 0
		for _, n := range w.q.notifications() {
			if n.Event == gatehouse.EventBreakGlassOverdue {
				reminded++
			}
		}
		if reminded != 2 { // bob and carol, once each
			t.Fatalf("reminded %d", reminded)
		}
		r, err = reviews.AcknowledgeReview(w.carol, id, gatehouse.Decision{Comment: "matches the incident ticket"})
		w.must(err)
		if r.State != gatehouse.ReviewAcknowledged || strings.Join(r.Acknowledgers(), ",") != "bob,carol" || r.Overdue {
			t.Fatalf("after two: %+v", r)
		}
		if over, err := reviews.Reviews(w.bob, gatehouse.ReviewFilter{Overdue: true}); err != nil || len(over) != 0 {
			t.Fatalf("still overdue: %v %v", over, err)
		}
		// Others do not see it.
		outsider := w.person("olga", "viewer@project:shop/env:dev")
		if _, err := reviews.Review(outsider, id); gatehouse.KindOf(err) != gatehouse.KindNotFound {
			t.Fatalf("an outsider reads the review: %v", err)
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
