package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// TestJudgesCountTheirOwnPeople: each judge of a ballot counts the people who hold its
// kind's approver role where it judges — the same policy at two places counts the approvers
// of each, an image and a config policy at one place count their own — so a vote that meets
// one judge meets no other by accident.
func TestJudgesCountTheirOwnPeople(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		g := newGated(t, engine)
		ivy := g.person("ivy", "image-approver@project:shop/env:dev")
		cora := g.person("cora", "config-approver@project:shop")
		for _, p := range []gatehouse.PolicySpec{
			{Name: "envs", Scope: "project:shop/env:*", Rules: []gatehouse.Rule{{Kind: gatehouse.RuleAny, Count: 1}}},
			{Name: "prod-cfg", Kind: gatehouse.PolicyConfig, Scope: "project:shop/env:prod", Rules: []gatehouse.Rule{{Kind: gatehouse.RuleAny, Count: 1}}},
		} {
			_, err := g.policies.CreatePolicy(g.admin, p)
			g.must(err)
		}
		d, err := g.drafts.CreateDraft(g.admin, gatehouse.DraftCreate{DraftRef: gatehouse.DraftRef{Kind: gatehouse.DraftAccess, User: "dan"},
			ConfigWrite: gatehouse.ConfigWrite{Content: "roles:\n- {role: deployer, scope: 'project:shop'}\n" +
				"- {role: image-approver, scope: 'project:shop/env:dev'}\n- {role: image-approver, scope: 'project:shop/env:prod'}\n" +
				"- {role: config-approver, scope: 'project:shop/env:prod'}\n"}})
		g.must(err)
		_, err = g.drafts.ProposeDraft(g.admin, d.ID, gatehouse.DraftPropose{})
		g.must(err)
		state := func(who context.Context) (gatehouse.DraftState, string) {
			t.Helper()
			d, err := g.drafts.ApproveDraft(who, d.ID, gatehouse.Decision{Version: 1})
			g.must(err)
			var met []string
			for _, v := range d.Verdicts {
				met = append(met, fmt.Sprintf("%s:%v", v.Policy, v.Met))
			}
			return d.State, strings.Join(met, ",")
		}
		// bob approves images of prod: that meets envs at prod, not envs at dev, nor prod-cfg,
		// nor prod-gate (which also wants someone of security).
		if s, met := state(g.bob); s != gatehouse.DraftProposed || met != "envs:false,envs:true,prod-cfg:false,prod-gate:false" {
			t.Fatalf("after bob: %s, verdicts %s", s, met)
		}
		if s, met := state(ivy); s != gatehouse.DraftProposed || met != "envs:true,envs:true,prod-cfg:false,prod-gate:false" {
			t.Fatalf("after ivy (dev's image approver): %s, verdicts %s", s, met)
		}
		if s, met := state(g.carol); s != gatehouse.DraftProposed || met != "envs:true,envs:true,prod-cfg:false,prod-gate:true" {
			t.Fatalf("after carol (security): %s, verdicts %s", s, met)
		}
		if s, met := state(cora); s != gatehouse.DraftApproved || met != "envs:true,envs:true,prod-cfg:true,prod-gate:true" {
			t.Fatalf("after cora (config approver): %s, verdicts %s", s, met)
		}
	})
}

// TestOnlyMembersHoldAGroupsRoles: a group's approver role counts for its members only — not
// for a user whose id happens to be the group's — and a disabled approver no longer counts.
func TestOnlyMembersHoldAGroupsRoles(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		g := newGated(t, engine)
		var danID int64
		g.must(g.db.Raw().QueryRow(`SELECT id FROM users WHERE name = 'dan'`).Scan(&danID))
		// Groups until one has dan's id; it approves prod's images but dan is not in it.
		for i := 0; ; i++ {
			grp, err := g.groups.CreateGroup(g.admin, gatehouse.GroupCreate{Name: fmt.Sprintf("filler%d", i)})
			g.must(err)
			if grp.ID == danID {
				_, err := g.bindings.CreateRoleBinding(g.admin, gatehouse.RoleBindingCreate{Group: grp.Name, Role: gatehouse.RoleImageApprover, Scope: "project:shop"})
				g.must(err)
				break
			}
			if grp.ID > danID {
				t.Fatalf("group ids passed dan's (%d)", danID)
			}
		}
		r := g.request(g.alice, g.digestA)
		_, err := g.approvals.Approve(g.login("dan"), r.ID, gatehouse.Decision{})
		wantErr(t, err, gatehouse.KindForbidden, "dan does not hold image-approver")
		// bob and carol approve; bob is then disabled: the request no longer meets prod-gate.
		for _, who := range []context.Context{g.bob, g.carol} {
			_, err := g.approvals.Approve(who, r.ID, gatehouse.Decision{})
			g.must(err)
		}
		yes := true
		_, err = g.users.UpdateUser(g.admin, "bob", gatehouse.UserUpdate{Disabled: &yes})
		g.must(err)
		_, err = g.deploy(g.alice, g.digestA)
		wantErr(t, err, gatehouse.KindPreconditionFailed, "no longer met")
	})
}

// TestAccessDraftApplies: publishing an access draft revokes and grants in one go, adds every
// new member, and the trail names whom each grant went to and which draft approved it.
func TestAccessDraftApplies(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		g := newGated(t, engine)
		g.person("erin")
		// dan moves from deployer to image-approver of prod: one revocation, one grant.
		g.passDraft(g.admin, gatehouse.DraftRef{Kind: gatehouse.DraftAccess, User: "dan"},
			"roles:\n- {role: image-approver, scope: 'project:shop/env:prod'}\n", g.bob, g.carol)
		bs, err := g.bindings.RoleBindings(g.admin, gatehouse.RoleBindingFilter{User: "dan"})
		g.must(err)
		if len(bs) != 1 || bs[0].Role != gatehouse.RoleImageApprover {
			t.Fatalf("dan's roles after the draft: %+v", bs)
		}
		ev, err := g.audit.AuditEvents(g.admin, gatehouse.AuditFilter{Action: "rolebinding.create"})
		g.must(err)
		if last := ev[len(ev)-1]; !strings.Contains(string(last.After), `"user":"dan"`) || !strings.Contains(string(last.Details), `"draft":`) {
			t.Fatalf("the grant's trail event: after %s, details %s", last.After, last.Details)
		}
		ev, err = g.audit.AuditEvents(g.admin, gatehouse.AuditFilter{Action: "rolebinding.delete"})
		g.must(err)
		if len(ev) == 0 || !strings.Contains(string(ev[len(ev)-1].Before), `"role":"deployer"`) {
			t.Fatalf("the revocation's trail event: %+v", ev)
		}
		// Two new members of security at once.
		g.passDraft(g.admin, gatehouse.DraftRef{Kind: gatehouse.DraftAccess, Group: "security"}, "members: [carol, dan, erin]\n", g.bob, g.carol)
		grp, err := g.groups.Group(g.admin, "security")
		g.must(err)
		if strings.Join(grp.Members, ",") != "carol,dan,erin" {
			t.Fatalf("security's members after the draft: %v", grp.Members)
		}
	})
}
