package gatehouse_test

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/oracle"
)

var (
	cmpNames  = []string{"ann", "ben", "cat", "dan", "eve", "fay"}
	cmpGroups = []string{"sre", "security"}
	cmpScopes = []string{"project:shop/env:prod", "project:shop/env:*", "project:shop", "project:shop/app:web/env:prod", "*"}
	cmpExpiry = []string{"1h0m0s", "72h0m0s", "none"}
)

func randomRule(r *rand.Rand) gatehouse.Rule {
	switch r.IntN(3) {
	case 0:
		return gatehouse.Rule{Kind: gatehouse.RuleAny, Count: 1 + r.IntN(3)}
	case 1:
		return gatehouse.Rule{Kind: gatehouse.RuleGroup, Count: 1 + r.IntN(2), Group: cmpGroups[r.IntN(2)]}
	}
	users := []string{cmpNames[r.IntN(6)]}
	if r.IntN(2) == 0 && users[0] != "fay" {
		users = append(users, "fay")
	}
	return gatehouse.Rule{Kind: gatehouse.RuleUsers, Users: users}
}

func randomSpec(r *rand.Rand) *gatehouse.PolicySpec {
	p := &gatehouse.PolicySpec{Name: "p", Kind: gatehouse.PolicyImage, Scope: cmpScopes[r.IntN(len(cmpScopes))],
		RequesterMayApprove: r.IntN(3) == 0, BuilderMayApprove: r.IntN(3) == 0, ApproverMayDeploy: r.IntN(3) == 0,
		CountAcrossRules: r.IntN(3) == 0, Expiry: cmpExpiry[r.IntN(3)], Rollback: gatehouse.RollbackNeedsApproval}
	for k := 0; k < 1+r.IntN(3); k++ {
		p.Rules = append(p.Rules, randomRule(r))
	}
	if r.IntN(2) == 0 {
		p.Conditions = []string{`artifact.registry == "registry.example.com"`}
	}
	if r.IntN(4) == 0 {
		p.Rollback = gatehouse.RollbackPreApproved
	}
	return p
}

func clone(p *gatehouse.PolicySpec) *gatehouse.PolicySpec {
	c := *p
	c.Rules = slices.Clone(p.Rules)
	for i := range c.Rules {
		c.Rules[i].Users = slices.Clone(p.Rules[i].Users)
	}
	c.Conditions = slices.Clone(p.Conditions)
	return &c
}

// tighten applies one change that can only let fewer things through.
func tighten(r *rand.Rand, p *gatehouse.PolicySpec) *gatehouse.PolicySpec {
	c := clone(p)
	switch r.IntN(8) {
	case 0:
		c.Rules = append(c.Rules, randomRule(r))
	case 1:
		i := r.IntN(len(c.Rules))
		if c.Rules[i].Kind != gatehouse.RuleUsers {
			c.Rules[i].Count++
		} else if !slices.Contains(c.Rules[i].Users, "eve") {
			c.Rules[i].Users = append(c.Rules[i].Users, "eve")
		}
	case 2:
		c.RequesterMayApprove, c.BuilderMayApprove, c.ApproverMayDeploy = false, false, false
	case 3:
		c.CountAcrossRules = false
	case 4:
		c.Expiry = "1h0m0s"
	case 5:
		if !slices.Contains(c.Conditions, `"stable" in artifact.tags`) {
			c.Conditions = append(c.Conditions, `"stable" in artifact.tags`)
		}
	case 6:
		c.Scope = "*"
	default:
		c.Rollback = gatehouse.RollbackNeedsApproval
	}
	return c
}

// loosen applies one change that may let more through, or reports false when p has nothing of
// that kind to loosen. rules says the change is to the rules, which lets more through only
// when some set of approvals shows it (a rule another one implies can go).
func loosen(r *rand.Rand, p *gatehouse.PolicySpec) (c *gatehouse.PolicySpec, rules, ok bool) {
	c = clone(p)
	switch r.IntN(9) {
	case 0:
		i := r.IntN(len(c.Rules))
		switch {
		case c.Rules[i].Kind != gatehouse.RuleUsers && c.Rules[i].Count > 1:
			c.Rules[i].Count--
		case c.Rules[i].Kind == gatehouse.RuleUsers && len(c.Rules[i].Users) > 1:
			c.Rules[i].Users = c.Rules[i].Users[1:]
		case len(c.Rules) > 1:
			c.Rules = slices.Delete(c.Rules, i, i+1)
		default:
			return nil, false, false
		}
		return c, true, true
	case 1:
		if c.RequesterMayApprove {
			return nil, false, false
		}
		c.RequesterMayApprove = true
	case 2:
		if c.BuilderMayApprove {
			return nil, false, false
		}
		c.BuilderMayApprove = true
	case 3:
		if c.ApproverMayDeploy {
			return nil, false, false
		}
		c.ApproverMayDeploy = true
	case 4:
		if c.CountAcrossRules || len(c.Rules) < 2 {
			return nil, false, false
		}
		c.CountAcrossRules = true
	case 5:
		if c.Expiry == "none" {
			return nil, false, false
		}
		c.Expiry = "none"
	case 6:
		if len(c.Conditions) == 0 {
			return nil, false, false
		}
		c.Conditions = c.Conditions[1:]
	case 7:
		if c.Scope == "project:shop/app:web/env:prod" {
			return nil, false, false
		}
		c.Scope = "project:shop/app:web/env:prod"
	default:
		if c.Rollback == gatehouse.RollbackPreApproved {
			return nil, false, false
		}
		c.Rollback = gatehouse.RollbackPreApproved
	}
	return c, false, true
}

// witness looks for approvals, people and facts that next accepts and p refuses, as the
// independent oracle judges them.
func witness(r *rand.Rand, p, next *gatehouse.PolicySpec, tries int) bool {
	old, nw := &gatehouse.Policy{PolicySpec: *p}, &gatehouse.Policy{PolicySpec: *next}
	for k := 0; k < tries; k++ {
		vs, f, approvals := randomCase(r)
		if oracle.Met(nw, f, approvals, vs) && !oracle.Met(old, f, approvals, vs) {
			return true
		}
	}
	return false
}

func randomCase(r *rand.Rand) (map[string]gatehouse.Voter, gatehouse.ApprovalFacts, []string) {
	vs := randomVoters(r, cmpNames, cmpGroups, 6)
	f := gatehouse.ApprovalFacts{Requester: cmpNames[r.IntN(6)], Builders: []string{cmpNames[r.IntN(6)]}}
	var approvals []string
	for _, n := range cmpNames {
		if r.IntN(3) > 0 {
			approvals = append(approvals, n)
		}
	}
	return vs, f, approvals
}

// TestLooseningsProperty: a chain of tightenings is never called loosening, and loosening it
// again by one step always is; and whenever a replacement is called at least as strict, every
// set of approvals it accepts is accepted by the policy it replaces (soundness, against the
// real evaluator, over random people, groups and separation-of-duty facts).
func TestLooseningsProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	strictChecked, loosened := 0, 0
	for iter := 0; iter < 4000; iter++ {
		p := randomSpec(r)
		next := p
		for k := 0; k < 1+r.IntN(3); k++ {
			next = tighten(r, next)
		}
		if l := p.Loosenings(next); len(l) > 0 {
			t.Fatalf("tightening %+v into %+v was called loosening: %v", p, next, l)
		}
		if l, rules, ok := loosen(r, next); ok && (!rules || witness(r, next, l, 100)) {
			if len(next.Loosenings(l)) == 0 {
				t.Fatalf("loosening %+v into %+v was not noticed", next, l)
			}
			loosened++
		}
		// Soundness of "at least as strict" for arbitrary pairs, tightened or not.
		other := randomSpec(r)
		for _, pair := range [][2]*gatehouse.PolicySpec{{p, next}, {p, other}} {
			if len(pair[0].Loosenings(pair[1])) > 0 {
				continue
			}
			strictChecked++
			if witness(r, pair[0], pair[1], 20) {
				t.Fatalf("%+v was called at least as strict as %+v, but it accepts approvals the old one refuses", pair[1], pair[0])
			}
		}
	}
	if strictChecked < 1000 || loosened < 1000 {
		t.Fatalf("the property was barely exercised: %d strict pairs, %d loosenings", strictChecked, loosened)
	}
}

func TestLooseningsSay(t *testing.T) {
	p := &gatehouse.PolicySpec{Name: "prod", Kind: gatehouse.PolicyImage, Scope: "project:shop/env:prod", Expiry: "72h0m0s",
		Rules: []gatehouse.Rule{{Kind: gatehouse.RuleAny, Count: 2}}, Rollback: gatehouse.RollbackNeedsApproval}
	for want, next := range map[string]*gatehouse.PolicySpec{
		"deletes the policy":                    nil,
		"asks for less than 2 approvers":        {Name: "prod", Kind: gatehouse.PolicyImage, Scope: p.Scope, Expiry: p.Expiry, Rules: []gatehouse.Rule{{Kind: gatehouse.RuleAny, Count: 1}}, Rollback: p.Rollback},
		"narrows its scope":                     {Name: "prod", Kind: gatehouse.PolicyImage, Scope: "project:shop/app:web/env:prod", Expiry: p.Expiry, Rules: p.Rules, Rollback: p.Rollback},
		"pre-approves rollbacks":                {Name: "prod", Kind: gatehouse.PolicyImage, Scope: p.Scope, Expiry: p.Expiry, Rules: p.Rules, Rollback: gatehouse.RollbackPreApproved},
		"lets approvals live longer":            {Name: "prod", Kind: gatehouse.PolicyImage, Scope: p.Scope, Expiry: "none", Rules: p.Rules, Rollback: p.Rollback},
		"changes its kind from image to config": {Name: "prod", Kind: gatehouse.PolicyConfig, Scope: p.Scope, Expiry: p.Expiry, Rules: p.Rules, Rollback: p.Rollback},
	} {
		if got := strings.Join(p.Loosenings(next), "; "); !strings.Contains(got, want) {
			t.Errorf("want %q, got %q", want, got)
		}
	}
	same := *p
	same.Description = "reworded"
	if l := p.Loosenings(&same); len(l) != 0 {
		t.Errorf("a new description loosens nothing, got %v", l)
	}
}

// TestLooseningsCases: written-out pairs the random ones reach too rarely — rules compared
// when people count across rules on either side, risk rules kept, weakened or dropped, an
// expiry lengthened, rollbacks pre-approved, and an old scope that cannot be read.
func TestLooseningsCases(t *testing.T) {
	any := func(n int) gatehouse.Rule { return gatehouse.Rule{Kind: gatehouse.RuleAny, Count: n} }
	sec := gatehouse.Rule{Kind: gatehouse.RuleGroup, Count: 1, Group: "security"}
	base := func(edit func(*gatehouse.PolicySpec)) *gatehouse.PolicySpec {
		p := &gatehouse.PolicySpec{Name: "prod", Kind: gatehouse.PolicyImage, Scope: "project:shop/env:prod", Expiry: "1h0m0s",
			Rules: []gatehouse.Rule{any(2), sec}, Rollback: gatehouse.RollbackNeedsApproval, ConfigRollback: gatehouse.RollbackNeedsApproval,
			Risks: []gatehouse.RiskRule{{When: `"secrets" in change.labels`, Rules: []gatehouse.Rule{any(2)}}}}
		if edit != nil {
			edit(p)
		}
		return p
	}
	for _, c := range []struct {
		name      string
		old, next *gatehouse.PolicySpec
		want      string // "" for no loosening
	}{
		{"unchanged", base(nil), base(nil), ""},
		{"fewer people while both count across rules",
			base(func(p *gatehouse.PolicySpec) { p.CountAcrossRules = true }),
			base(func(p *gatehouse.PolicySpec) { p.CountAcrossRules = true; p.Rules = []gatehouse.Rule{any(1)} }), "asks for less than"},
		{"fewer people while counting across rules stops",
			base(func(p *gatehouse.PolicySpec) { p.CountAcrossRules = true }),
			base(func(p *gatehouse.PolicySpec) { p.Rules = []gatehouse.Rule{any(1)} }), "asks for less than"},
		{"counting across rules stops, rules kept", base(func(p *gatehouse.PolicySpec) { p.CountAcrossRules = true }), base(nil), ""},
		{"counting across rules stops, one rule standing for two it implied",
			base(func(p *gatehouse.PolicySpec) { p.CountAcrossRules = true; p.Rules = []gatehouse.Rule{any(1), sec} }),
			base(func(p *gatehouse.PolicySpec) { p.Rules = []gatehouse.Rule{sec} }), ""},
		{"a risk rule weakened", base(nil), base(func(p *gatehouse.PolicySpec) { p.Risks[0].Rules = []gatehouse.Rule{any(1)} }), "weakens the risk rule"},
		{"a risk rule dropped", base(nil), base(func(p *gatehouse.PolicySpec) { p.Risks = nil }), "drops or weakens the risk rule"},
		{"a risk rule moved to another condition", base(nil),
			base(func(p *gatehouse.PolicySpec) { p.Risks[0].When = `"image" in change.labels` }), "drops or weakens the risk rule"},
		{"a longer expiry", base(nil), base(func(p *gatehouse.PolicySpec) { p.Expiry = "2h0m0s" }), "lets approvals live longer"},
		{"a shorter expiry", base(nil), base(func(p *gatehouse.PolicySpec) { p.Expiry = "30m0s" }), ""},
		{"rollbacks pre-approved", base(nil), base(func(p *gatehouse.PolicySpec) { p.Rollback = gatehouse.RollbackPreApproved }), "pre-approves rollbacks"},
		{"pre-approved rollbacks kept", base(func(p *gatehouse.PolicySpec) { p.Rollback = gatehouse.RollbackPreApproved }),
			base(func(p *gatehouse.PolicySpec) { p.Rollback = gatehouse.RollbackPreApproved }), ""},
		{"configuration of rollbacks pre-approved", base(nil),
			base(func(p *gatehouse.PolicySpec) { p.ConfigRollback = gatehouse.RollbackPreApproved }), "pre-approves the configuration of rollbacks"},
		{"an old scope that cannot be read", base(func(p *gatehouse.PolicySpec) { p.Scope = "garbage" }),
			base(func(p *gatehouse.PolicySpec) { p.Scope = "*" }), "narrows its scope"},
	} {
		got := strings.Join(c.old.Loosenings(c.next), "; ")
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: loosenings %q, want %q", c.name, got, c.want)
		}
	}
}
