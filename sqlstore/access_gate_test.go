package sqlstore_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// TestNobodyMintsAVoteAlone: a super-admin who creates an account and gives it an approver
// role (or a seat in the group a policy names, or admin, which votes under the lock-out rule)
// would pass any gate alone. A vote where a policy counts it is given only through an access
// draft that the policy's own people pass — never its author, never the person it favours —
// while what gives no such vote, and every revocation, applies at once.
func TestNobodyMintsAVoteAlone(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		g := newGated(t, engine)
		g.person("sock")
		grant := func(user, role, scope string) error {
			_, err := g.bindings.CreateRoleBinding(g.admin, gatehouse.RoleBindingCreate{User: user, Role: gatehouse.Role(role), Scope: scope})
			return err
		}
		wantErr(t, grant("sock", "image-approver", "project:shop/env:prod"), gatehouse.KindPreconditionFailed,
			"access of user sock is protected by policy prod-gate", "gatehouse draft create --kind access")
		wantErr(t, grant("sock", "admin", "project:shop"), gatehouse.KindPreconditionFailed, "protected by policy prod-gate (lock-out)")
		_, err := g.groups.AddGroupMember(g.admin, "security", "sock")
		wantErr(t, err, gatehouse.KindPreconditionFailed, "access of group security is protected by policy prod-gate")
		// What gives no vote a policy counts goes through: a viewer, an approver of dev.
		g.must(grant("sock", "viewer", "project:shop"))
		g.must(grant("sock", "image-approver", "project:shop/env:dev"))

		// The draft: its author may not pass it (below, the person it favours neither); prod-gate's
		// people do.
		ref := gatehouse.DraftRef{Kind: gatehouse.DraftAccess, User: "sock"}
		text := "roles:\n- {role: viewer, scope: 'project:shop'}\n- {role: image-approver, scope: 'project:shop/env:dev'}\n" +
			"- {role: image-approver, scope: 'project:shop/env:prod'}\n"
		d, err := g.drafts.CreateDraft(g.admin, gatehouse.DraftCreate{DraftRef: ref, ConfigWrite: gatehouse.ConfigWrite{Content: text}})
		g.must(err)
		d, err = g.drafts.ProposeDraft(g.admin, d.ID, gatehouse.DraftPropose{})
		g.must(err)
		if len(d.Policies) != 1 || d.Policies[0].Name != "prod-gate" || d.Lockout {
			t.Fatalf("sock's vote on prod is judged by %+v (lock-out %v), want prod-gate", d.Policies, d.Lockout)
		}
		_, err = g.drafts.ApproveDraft(g.admin, d.ID, gatehouse.Decision{Version: 1})
		wantErr(t, err, gatehouse.KindForbidden, "admin does not hold image-approver")
		// prod-gate's approvers see it waiting for them, though they see no directory.
		inbox, err := gatehouse.Items(g.drafts.Drafts(g.bob, gatehouse.DraftFilter{ForMe: true}))
		g.must(err)
		if len(inbox) != 1 || inbox[0].ID != d.ID || inbox[0].User != "sock" {
			t.Fatalf("bob's inbox: %+v", inbox)
		}
		outsider := g.person("olga", "image-approver@project:other")
		if _, err := g.drafts.Draft(outsider, d.ID); gatehouse.KindOf(err) != gatehouse.KindNotFound {
			t.Fatalf("a person of another project reads sock's access draft: %v", err)
		}
		for _, who := range []string{"bob", "carol"} {
			_, err = g.drafts.ApproveDraft(g.login(who), d.ID, gatehouse.Decision{Version: 1})
			g.must(err)
		}
		d, err = g.drafts.PublishDraft(g.admin, d.ID)
		g.must(err)
		if d.State != gatehouse.DraftPublished {
			t.Fatalf("draft %d is %s", d.ID, d.State)
		}
		bs, err := g.bindings.RoleBindings(g.admin, gatehouse.RoleBindingFilter{User: "sock"})
		g.must(err)
		if len(bs) != 3 || bs[2].Role != gatehouse.RoleImageApprover || bs[2].Scope != "project:shop/env:prod" {
			t.Fatalf("sock's bindings after the draft: %+v", bs)
		}
		ev, err := g.audit.AuditEvents(g.admin, gatehouse.AuditFilter{Action: "rolebinding.create"})
		g.must(err)
		if last := string(ev[len(ev)-1].Details); !strings.Contains(last, `"approvers":["bob","carol"]`) || !strings.Contains(last, `"draft":`) {
			t.Fatalf("the grant's trail event does not say who approved it: %s", last)
		}

		// Widening one's own vote: the person favoured does not judge it.
		wider := gatehouse.DraftRef{Kind: gatehouse.DraftAccess, User: "bob"}
		d, err = g.drafts.CreateDraft(g.admin, gatehouse.DraftCreate{DraftRef: wider, ConfigWrite: gatehouse.ConfigWrite{
			Content: "roles:\n- {role: deployer, scope: 'project:shop'}\n- {role: image-approver, scope: 'project:shop'}\n"}})
		g.must(err)
		_, err = g.drafts.ProposeDraft(g.admin, d.ID, gatehouse.DraftPropose{})
		g.must(err)
		_, err = g.drafts.ApproveDraft(g.bob, d.ID, gatehouse.Decision{Version: 1})
		wantErr(t, err, gatehouse.KindForbidden, "bob gains a vote by it")
		_, err = g.drafts.DiscardDraft(g.admin, d.ID, "")
		g.must(err)

		// Admin votes under the lock-out rule: another person who manages the scope passes it.
		mgr := gatehouse.DraftRef{Kind: gatehouse.DraftAccess, User: "sock"}
		d, err = g.drafts.CreateDraft(g.admin, gatehouse.DraftCreate{DraftRef: mgr, ConfigWrite: gatehouse.ConfigWrite{
			Content: text + "- {role: admin, scope: 'project:shop'}\n"}})
		g.must(err)
		d, err = g.drafts.ProposeDraft(g.admin, d.ID, gatehouse.DraftPropose{})
		g.must(err)
		if len(d.Policies) != 1 || d.Policies[0].Name != "prod-gate (lock-out)" {
			t.Fatalf("making sock an admin is judged by %+v", d.Policies)
		}
		_, err = g.drafts.ApproveDraft(g.admin, d.ID, gatehouse.Decision{Version: 1})
		wantErr(t, err, gatehouse.KindForbidden, "admin wrote a version of the draft")
		// bob approves images; the lock-out rule counts managers only: he does not even see it.
		_, err = g.drafts.ApproveDraft(g.bob, d.ID, gatehouse.Decision{Version: 1})
		wantErr(t, err, gatehouse.KindNotFound, fmt.Sprintf("draft %d not found", d.ID))
		_, err = g.drafts.ApproveDraft(g.dave, d.ID, gatehouse.Decision{Version: 1})
		g.must(err)
		_, err = g.drafts.PublishDraft(g.admin, d.ID)
		g.must(err)

		// Taking votes away applies at once.
		_, err = g.groups.RemoveGroupMember(g.admin, "security", "carol")
		g.must(err)
		for _, b := range bs {
			g.must(g.bindings.DeleteRoleBinding(g.admin, b.ID))
		}
	})
}

// TestNobodyVotesAsAnother: an administrator who sets the password or e-mail address (where
// approve links and single sign-on lead) of a person who votes could vote as them. That is
// refused while the person votes under a policy; the person changes their own; revoking the
// votes first applies at once, and then the reset goes through.
func TestNobodyVotesAsAnother(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		g := newGated(t, engine)
		pw := gatehouse.NewSecret("another horse battery")
		mail := "takeover@example.com"
		_, err := g.users.UpdateUser(g.admin, "bob", gatehouse.UserUpdate{Password: &pw})
		wantErr(t, err, gatehouse.KindPreconditionFailed, "bob votes where policies reach",
			"image-approver on project:shop/env:prod under prod-gate", "revoke those roles")
		_, err = g.users.UpdateUser(g.admin, "carol", gatehouse.UserUpdate{Email: &mail})
		wantErr(t, err, gatehouse.KindPreconditionFailed, "carol votes where policies reach", "under prod-gate")
		_, err = g.users.UpdateUser(g.admin, "dave", gatehouse.UserUpdate{Password: &pw})
		wantErr(t, err, gatehouse.KindPreconditionFailed, "admin on project:shop under prod-gate's lock-out rule")
		name := "Bob the SRE"
		_, err = g.users.UpdateUser(g.admin, "bob", gatehouse.UserUpdate{DisplayName: &name})
		g.must(err)
		// One who votes nowhere a policy reaches is reset as before.
		_, err = g.users.UpdateUser(g.admin, "dan", gatehouse.UserUpdate{Password: &pw, Email: &mail})
		g.must(err)
		// bob's votes revoked first (at once), the reset goes through.
		g.revoke("bob", gatehouse.RoleImageApprover, "")
		_, err = g.users.UpdateUser(g.admin, "bob", gatehouse.UserUpdate{Password: &pw})
		g.must(err)
	})
}

// TestAccessDraftJudgesAndReaders: who writes an access draft (an access-manager grants what
// it holds, and changes no members), who judges it (every policy its votes count under, at
// every place they count), what gives no counted vote (a role that votes nowhere, a group
// nobody's rule names), and who reads it (the judges' approvers, who see no directory).
func TestAccessDraftJudgesAndReaders(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		g := newGated(t, engine)
		g.person("amy", "access-manager@project:shop")
		_, err := g.groups.CreateGroup(g.admin, gatehouse.GroupCreate{Name: "sre"})
		g.must(err)
		for _, p := range []gatehouse.PolicySpec{
			{Name: "prod-extra", Scope: "project:shop/env:prod", Rules: []gatehouse.Rule{{Kind: gatehouse.RuleAny, Count: 1}}},
			{Name: "envs", Scope: "project:shop/env:*", Rules: []gatehouse.Rule{{Kind: gatehouse.RuleAny, Count: 1}}},
		} {
			_, err := g.policies.CreatePolicy(g.admin, p)
			g.must(err)
		}
		// Content that is not an access is refused, naming what is wrong.
		_, err = g.drafts.CreateDraft(g.admin, gatehouse.DraftCreate{DraftRef: gatehouse.DraftRef{Kind: gatehouse.DraftAccess, User: "dan"},
			ConfigWrite: gatehouse.ConfigWrite{Content: "bogus: 1\n"}})
		wantErr(t, err, gatehouse.KindInvalid, `"bogus" is not a field`)
		// Reading a group's access lists its members.
		live, err := g.drafts.Live(g.admin, gatehouse.DraftRef{Kind: gatehouse.DraftAccess, Group: "security"})
		g.must(err)
		if !strings.Contains(live.Content, "- carol") {
			t.Fatalf("group security's access:\n%s", live.Content)
		}
		// What gives no counted vote applies at once.
		_, err = g.bindings.CreateRoleBinding(g.admin, gatehouse.RoleBindingCreate{Group: "security", Role: gatehouse.RoleViewer, Scope: "project:shop"})
		g.must(err)
		_, err = g.groups.AddGroupMember(g.admin, "sre", "dan")
		g.must(err)

		// A vote on prod is judged by both prod policies, and by envs where it counts.
		g.grantThrough(gatehouse.DraftRef{User: "amy"}, []string{"image-approver@project:shop"}, nil, g.bob, g.carol)
		amy := g.login("amy")
		d, err := g.drafts.CreateDraft(amy, gatehouse.DraftCreate{DraftRef: gatehouse.DraftRef{Kind: gatehouse.DraftAccess, User: "dan"},
			ConfigWrite: gatehouse.ConfigWrite{Content: "roles:\n- {role: deployer, scope: 'project:shop'}\n" +
				"- {role: image-approver, scope: 'project:shop/env:prod'}\n- {role: image-approver, scope: 'project:shop/env:dev'}\n"}})
		g.must(err)
		var judged []string
		for _, v := range d.Verdicts {
			judged = append(judged, v.Policy)
		}
		if strings.Join(judged, ",") != "envs,envs,prod-extra,prod-gate" {
			t.Fatalf("dan's votes on dev and prod are judged by %v, want envs (twice: dev and prod), prod-extra and prod-gate", judged)
		}
		// An access-manager changes no members.
		_, err = g.drafts.CreateDraft(amy, gatehouse.DraftCreate{DraftRef: gatehouse.DraftRef{Kind: gatehouse.DraftAccess, Group: "security"},
			ConfigWrite: gatehouse.ConfigWrite{Content: "roles:\n- {role: viewer, scope: 'project:shop'}\nmembers: [carol, dan]\n"}})
		wantErr(t, err, gatehouse.KindForbidden, "needs role super-admin")
		// A new member of the group prod-gate names is judged by it, and its approvers read it.
		d, err = g.drafts.CreateDraft(g.admin, gatehouse.DraftCreate{DraftRef: gatehouse.DraftRef{Kind: gatehouse.DraftAccess, Group: "security"},
			ConfigWrite: gatehouse.ConfigWrite{Content: "roles:\n- {role: viewer, scope: 'project:shop'}\nmembers: [carol, dan]\n"}})
		g.must(err)
		_, err = g.drafts.ProposeDraft(g.admin, d.ID, gatehouse.DraftPropose{})
		g.must(err)
		inbox, err := gatehouse.Items(g.drafts.Drafts(g.bob, gatehouse.DraftFilter{ForMe: true}))
		g.must(err)
		if !slices.ContainsFunc(inbox, func(x *gatehouse.Draft) bool { return x.ID == d.ID }) {
			t.Fatalf("bob, who approves under prod-gate, does not find draft %d in his inbox: %+v", d.ID, inbox)
		}
	})
}
