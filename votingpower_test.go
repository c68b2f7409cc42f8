package gatehouse_test

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
)

func TestRoleVotes(t *testing.T) {
	want := map[gatehouse.Role]bool{gatehouse.RoleViewer: false, gatehouse.RoleDeployer: false, gatehouse.RoleImageApprover: true,
		gatehouse.RoleConfigApprover: true, gatehouse.RoleAdmin: true, gatehouse.RoleAccessManager: false, gatehouse.RoleSuperAdmin: true,
		gatehouse.RoleBreakGlass: true} // it passes over the image gate
	for _, r := range gatehouse.Roles {
		if r.Votes() != want[r] {
			t.Errorf("%s votes: %v, want %v", r, r.Votes(), want[r])
		}
	}
}

func TestCountsUnder(t *testing.T) {
	image := &gatehouse.Policy{PolicySpec: gatehouse.PolicySpec{Name: "g", Kind: gatehouse.PolicyImage, Scope: "project:shop/env:prod"}}
	config := &gatehouse.Policy{PolicySpec: gatehouse.PolicySpec{Name: "c", Kind: gatehouse.PolicyConfig, Scope: "project:shop/app:web"}}
	for _, c := range []struct {
		grant           string
		p               *gatehouse.Policy
		counts, lockout bool
	}{
		{"image-approver@project:shop/env:prod", image, true, false},
		{"image-approver@project:shop", image, true, false},
		{"image-approver@project:shop/env:*", image, true, false},
		{"image-approver@project:shop/app:web/env:prod", image, true, false},
		{"image-approver@project:shop/env:dev", image, false, false},
		{"image-approver@project:bank", image, false, false},
		{"config-approver@project:shop", image, false, true}, // approves the other kind; manages nothing
		{"config-approver@project:shop/env:prod", config, true, false},
		{"config-approver@project:shop/app:api", config, false, false},
		{"image-approver@project:shop", config, false, true},
		{"break-glass@project:shop/env:prod", image, true, false}, // judged by the gate it passes over
		{"break-glass@project:shop", config, false, false},
		{"admin@project:shop", image, true, true},
		{"super-admin@*", config, true, true},
		{"deployer@project:shop", image, false, true},
		{"viewer@*", image, false, true},
	} {
		role, scope, _ := strings.Cut(c.grant, "@")
		counts, lockout := gatehouse.RoleGrant{Role: gatehouse.Role(role), Scope: scope}.CountsUnder(c.p)
		if counts != c.counts || (counts && lockout != c.lockout) {
			t.Errorf("%s under %s (%s): counts %v lockout %v, want %v %v", c.grant, c.p.Name, c.p.Scope, counts, lockout, c.counts, c.lockout)
		}
	}
}

func TestPowersGained(t *testing.T) {
	g := func(r gatehouse.Role, s string) gatehouse.RoleGrant { return gatehouse.RoleGrant{Role: r, Scope: s} }
	prod, shop := "project:shop/env:prod", "project:shop"
	before := gatehouse.Access{Roles: []gatehouse.RoleGrant{g(gatehouse.RoleImageApprover, prod), g(gatehouse.RoleViewer, shop)}, Members: []string{"bob"}}
	for _, c := range []struct {
		name  string
		user  string
		after gatehouse.Access
		want  []gatehouse.Power
	}{
		{"nothing changes", "", before, nil},
		{"a viewer gives no vote", "", gatehouse.Access{Roles: append(slices.Clone(before.Roles), g(gatehouse.RoleViewer, prod)), Members: before.Members}, nil},
		{"a new member gets the group's votes", "", gatehouse.Access{Roles: before.Roles, Members: []string{"bob", "eve"}},
			[]gatehouse.Power{{Person: "eve", Grant: g(gatehouse.RoleImageApprover, prod)}}},
		{"a new voting role reaches every member", "", gatehouse.Access{Roles: append(slices.Clone(before.Roles), g(gatehouse.RoleAdmin, shop)), Members: before.Members},
			[]gatehouse.Power{{Person: "bob", Grant: g(gatehouse.RoleAdmin, shop)}}},
		{"a wider scope is a vote gained", "alice", gatehouse.Access{Roles: []gatehouse.RoleGrant{g(gatehouse.RoleImageApprover, shop)}},
			[]gatehouse.Power{{Person: "alice", Grant: g(gatehouse.RoleImageApprover, shop)}}},
		{"revoking gains nothing", "", gatehouse.Access{Roles: before.Roles[1:]}, nil},
	} {
		b := before
		if c.user != "" {
			b = gatehouse.Access{Roles: before.Roles}
		}
		if got := gatehouse.PowersGained(c.user, b, c.after); !slices.Equal(got, c.want) {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

// TestPowersGainedProperty: for random changes of a group's access, what is gained is held
// after and was not before (by an oracle that lists each member's voting roles itself), and a
// change that only takes away gains nothing.
func TestPowersGainedProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	roles := gatehouse.Roles
	scopes := []string{"*", "project:shop", "project:shop/env:prod", "project:shop/app:web", "project:bank/env:*"}
	people := []string{"a", "b", "c", "d"}
	random := func() gatehouse.Access {
		var a gatehouse.Access
		for range r.IntN(5) {
			role := roles[r.IntN(len(roles))]
			scope := scopes[r.IntN(len(scopes))]
			if role == gatehouse.RoleSuperAdmin {
				scope = "*"
			}
			a.Roles = append(a.Roles, gatehouse.RoleGrant{Role: role, Scope: scope})
		}
		for _, p := range people {
			if r.IntN(2) == 0 {
				a.Members = append(a.Members, p)
			}
		}
		if err := a.Normalize(true); err != nil {
			t.Fatal(err)
		}
		return a
	}
	votes := map[gatehouse.Role]bool{gatehouse.RoleImageApprover: true, gatehouse.RoleConfigApprover: true, gatehouse.RoleAdmin: true, gatehouse.RoleSuperAdmin: true,
		gatehouse.RoleBreakGlass: true}
	held := func(a gatehouse.Access) map[gatehouse.Power]bool {
		out := map[gatehouse.Power]bool{}
		for _, m := range a.Members {
			for _, g := range a.Roles {
				if votes[g.Role] {
					out[gatehouse.Power{Person: m, Grant: g}] = true
				}
			}
		}
		return out
	}
	for i := 0; i < 2000; i++ {
		before, after := random(), random()
		hb, ha := held(before), held(after)
		gained := gatehouse.PowersGained("", before, after)
		for _, p := range gained {
			if !ha[p] || hb[p] {
				t.Fatalf("before %+v after %+v: %+v counted as gained", before, after, p)
			}
		}
		for p := range ha {
			if !hb[p] && !slices.Contains(gained, p) {
				t.Fatalf("before %+v after %+v: %+v is gained but not listed", before, after, p)
			}
		}
		// Only taking away: after's roles and members are subsets of before's.
		sub := gatehouse.Access{Members: slices.DeleteFunc(slices.Clone(before.Members), func(string) bool { return r.IntN(2) == 0 }),
			Roles: slices.DeleteFunc(slices.Clone(before.Roles), func(gatehouse.RoleGrant) bool { return r.IntN(2) == 0 })}
		if got := gatehouse.PowersGained("", before, sub); len(got) != 0 {
			t.Fatalf("taking away from %+v to %+v gained %+v", before, sub, got)
		}
	}
}

// TestScopeIntersects checks Intersects against an oracle that looks for a target both
// scopes reach, over a small world, with its own reading of what a scope reaches.
func TestScopeIntersects(t *testing.T) {
	scopes := []string{"*", "project:a", "project:b", "project:*/env:p", "project:a/env:p", "project:a/env:q", "project:a/env:*",
		"project:a/app:x", "project:a/app:x/env:p", "project:a/app:*", "project:b/app:y/env:*"}
	dim := func(limit, v string) bool { return limit == "" || (v != "" && (limit == "*" || limit == v)) }
	reaches := func(s gatehouse.Scope, project, app, env string) bool {
		return (s.Project == "*" || s.Project == project) && dim(s.App, app) && dim(s.Env, env)
	}
	for _, a := range scopes {
		for _, b := range scopes {
			sa, _ := gatehouse.ParseScope("a", a)
			sb, _ := gatehouse.ParseScope("b", b)
			want := false
			for _, p := range []string{"a", "b", "c"} {
				for _, app := range []string{"", "x", "y", "z"} {
					for _, env := range []string{"", "p", "q", "r"} {
						if reaches(sa, p, app, env) && reaches(sb, p, app, env) {
							want = true
						}
					}
				}
			}
			if got := sa.Intersects(sb); got != want {
				t.Errorf("%s ∩ %s: %v, want %v", a, b, got, want)
			}
		}
	}
}

func TestAccessNormalize(t *testing.T) {
	a := gatehouse.Access{Roles: []gatehouse.RoleGrant{{Role: "viewer", Scope: "project:shop"}, {Role: "admin", Scope: "project:shop"},
		{Role: "viewer", Scope: "project:shop"}}, Members: []string{"b", "a", "b"}}
	if err := a.Normalize(true); err != nil || len(a.Roles) != 2 || a.Roles[0].Role != "admin" || !slices.Equal(a.Members, []string{"a", "b"}) {
		t.Fatalf("normalized %+v (%v)", a, err)
	}
	user := gatehouse.Access{Roles: []gatehouse.RoleGrant{{Role: "viewer", Scope: "project:shop"}}}
	if err := user.Normalize(false); err != nil {
		t.Fatalf("a user's roles without members: %v", err)
	}
	for _, c := range []struct {
		a     gatehouse.Access
		group bool
		field string
	}{
		{gatehouse.Access{Roles: []gatehouse.RoleGrant{{Role: "boss", Scope: "*"}}}, false, "roles[0].role"},
		{gatehouse.Access{Roles: []gatehouse.RoleGrant{{Role: "viewer", Scope: "shop"}}}, false, "roles[0].scope"},
		{gatehouse.Access{Roles: []gatehouse.RoleGrant{{Role: "super-admin", Scope: "project:shop"}}}, false, "roles[0].scope"},
		{gatehouse.Access{Members: []string{"x"}}, false, "members"},
		{gatehouse.Access{Members: []string{"Not A Name"}}, true, "members[0]"},
	} {
		err := c.a.Normalize(c.group)
		var e *gatehouse.Error
		if !errors.As(err, &e) || e.Field != c.field {
			t.Errorf("%+v: %v, want an error naming %s", c.a, err, c.field)
		}
	}
}

func TestBeneficiariesNeverCount(t *testing.T) {
	p := &gatehouse.Policy{PolicySpec: gatehouse.PolicySpec{Name: "g", Kind: gatehouse.PolicyImage, Rules: []gatehouse.Rule{{Kind: gatehouse.RuleAny, Count: 1}}}}
	ok, why := p.MayCount(gatehouse.Voter{Name: "bob", Eligible: true}, gatehouse.ApprovalFacts{Beneficiaries: []string{"bob"}})
	if ok || why != "bob gains a vote by it" {
		t.Fatalf("a beneficiary counts: %v %q", ok, why)
	}
	if v := p.Evaluate(gatehouse.ApprovalFacts{Beneficiaries: []string{"bob"}}, []string{"bob"}, map[string]gatehouse.Voter{"bob": {Name: "bob", Eligible: true}}); v.Met {
		t.Fatalf("a beneficiary's approval met the policy: %+v", v)
	}
}

func TestEditAccess(t *testing.T) {
	got, err := gatehouse.EditAccess("roles:\n- {role: viewer, scope: 'project:shop'}\n", func(a *gatehouse.Access) {
		a.Members = append(a.Members, "bob")
	})
	if err != nil || !strings.Contains(got, "role: viewer") || !strings.Contains(got, "- bob") {
		t.Fatalf("edited access: %q (%v)", got, err)
	}
	if _, err := gatehouse.EditAccess("roles: [", func(*gatehouse.Access) {}); err == nil {
		t.Fatal("access content that is not YAML was edited")
	}
}
