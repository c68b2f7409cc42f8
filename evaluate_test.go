package gatehouse_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/oracle"
)

func voters(specs ...string) map[string]gatehouse.Voter {
	out := map[string]gatehouse.Voter{}
	for _, s := range specs {
		name, groups, _ := strings.Cut(s, ":")
		v := gatehouse.Voter{Name: name, Eligible: true, Email: name + "@example.com"}
		if groups != "" {
			v.Groups = strings.Split(groups, ",")
		}
		out[name] = v
	}
	return out
}

func TestEvaluateRules(t *testing.T) {
	people := voters("ann:sre", "ben:sre,security", "cat:security", "dan", "eve:sre")
	facts := gatehouse.ApprovalFacts{Requester: "dan", Builders: []string{"eve"}}
	p := func(rules ...gatehouse.Rule) *gatehouse.Policy {
		return &gatehouse.Policy{Version: 3, PolicySpec: gatehouse.PolicySpec{Name: "p", Rules: rules}}
	}
	any2 := gatehouse.Rule{Kind: gatehouse.RuleAny, Count: 2}
	sre2 := gatehouse.Rule{Kind: gatehouse.RuleGroup, Count: 2, Group: "sre"}
	sec1 := gatehouse.Rule{Kind: gatehouse.RuleGroup, Count: 1, Group: "security"}
	cat := gatehouse.Rule{Kind: gatehouse.RuleUsers, Users: []string{"cat"}}
	tests := []struct {
		name      string
		policy    *gatehouse.Policy
		approvals []string
		met       bool
		missing   string
	}{
		{"two of anyone", p(any2), []string{"ann", "cat"}, true, ""},
		{"one is not two", p(any2), []string{"ann"}, false, "needs 1 more approval"},
		{"requester does not count", p(any2), []string{"ann", "dan"}, false, "needs 1 more approval"},
		{"builder does not count", p(any2), []string{"ann", "eve"}, false, "needs 1 more approval"},
		{"group and group: ben counts once", p(sre2, sec1), []string{"ann", "ben"}, false, "needs 1 more approval from group"},
		{"group and group: matching finds the split", p(sre2, sec1), []string{"ann", "ben", "cat"}, true, ""},
		{"named user must approve", p(any2, cat), []string{"ann", "ben"}, false, "needs the approval of cat"},
		{"named user counts for the named rule, others for the rest", p(any2, cat), []string{"ann", "ben", "cat"}, true, ""},
		{"nobody approved", p(sec1), nil, false, "needs 1 more approval from group security"},
		{"a stranger is not eligible", p(any2), []string{"ann", "zed"}, false, "needs 1 more approval"},
	}
	for _, tt := range tests {
		v := tt.policy.Evaluate(facts, tt.approvals, people)
		if v.Met != tt.met || !strings.Contains(strings.Join(v.Missing, "; "), tt.missing) {
			t.Errorf("%s: met=%v missing=%v ignored=%v, want met=%v missing %q", tt.name, v.Met, v.Missing, v.Ignored, tt.met, tt.missing)
		}
		if v.Policy != "p" || v.Version != 3 {
			t.Errorf("%s: verdict names %s v%d", tt.name, v.Policy, v.Version)
		}
	}
	// Across rules when the policy says so: ben fills both group rules.
	cross := p(gatehouse.Rule{Kind: gatehouse.RuleGroup, Count: 1, Group: "sre"}, sec1)
	if v := cross.Evaluate(facts, []string{"ben"}, people); v.Met {
		t.Fatal("ben counted twice without the policy allowing it")
	}
	cross.CountAcrossRules = true
	if v := cross.Evaluate(facts, []string{"ben"}, people); !v.Met {
		t.Fatalf("ben should count for both rules: %+v", v)
	}
	// Switches: the requester may approve when the policy allows it.
	p2 := p(gatehouse.Rule{Kind: gatehouse.RuleAny, Count: 1})
	p2.RequesterMayApprove = true
	if v := p2.Evaluate(facts, []string{"dan"}, people); !v.Met {
		t.Fatalf("requester allowed but not counted: %+v", v)
	}
	// The commit author is matched by e-mail too.
	if v := p2.Evaluate(gatehouse.ApprovalFacts{CommitAuthor: "ann@example.com"}, []string{"ann"}, people); v.Met {
		t.Fatal("the commit author approved their own change")
	}
	// Someone no longer eligible (removed from the role) stops counting.
	gone := voters("ann:sre", "ben:sre")
	gone["ben"] = gatehouse.Voter{Name: "ben", Groups: []string{"sre"}}
	if v := p(sre2).Evaluate(facts, []string{"ann", "ben"}, gone); v.Met || !strings.Contains(strings.Join(v.Ignored, ";"), "ben does not hold image-approver") {
		t.Fatalf("ineligible ben: %+v", v)
	}
}

// randomVoters makes people of the names, each eligible but one time in outOf, each in each
// group half the time.
func randomVoters(r *rand.Rand, names, groups []string, outOf int) map[string]gatehouse.Voter {
	vs := map[string]gatehouse.Voter{}
	for _, n := range names {
		v := gatehouse.Voter{Name: n, Email: n + "@example.com", Eligible: r.IntN(outOf) > 0}
		for _, g := range groups {
			if r.IntN(2) == 0 {
				v.Groups = append(v.Groups, g)
			}
		}
		vs[n] = v
	}
	return vs
}

// TestSwitchesIndependently: each separation-of-duty switch lets through only the person it
// names — the requester switch never the builder or commit author, the builder switch never
// the requester — written out per combination.
func TestSwitchesIndependently(t *testing.T) {
	people := voters("rita", "bill", "cora", "vera")
	facts := gatehouse.ApprovalFacts{Requester: "rita", Builders: []string{"bill"}, CommitAuthor: "CORA@example.com"}
	for _, c := range []struct {
		requester, builder bool
		counts             map[string]bool
	}{
		{false, false, map[string]bool{"rita": false, "bill": false, "cora": false, "vera": true}},
		{true, false, map[string]bool{"rita": true, "bill": false, "cora": false, "vera": true}},
		{false, true, map[string]bool{"rita": false, "bill": true, "cora": true, "vera": true}},
		{true, true, map[string]bool{"rita": true, "bill": true, "cora": true, "vera": true}},
	} {
		p := &gatehouse.Policy{PolicySpec: gatehouse.PolicySpec{Name: "p", Rules: []gatehouse.Rule{{Kind: gatehouse.RuleAny, Count: 1}},
			RequesterMayApprove: c.requester, BuilderMayApprove: c.builder}}
		for name, want := range c.counts {
			if got := p.Evaluate(facts, []string{name}, people).Met; got != want {
				t.Errorf("requester_may_approve=%v builder_may_approve=%v: %s's approval met the policy: %v, want %v", c.requester, c.builder, name, got, want)
			}
		}
	}
}

// TestEvaluateProperty: over random policies, people and approvals, the verdict is met exactly
// when some assignment of distinct eligible approvers meets every rule; a met verdict never
// counts a person twice within a rule (nor across rules, unless allowed) nor anyone the
// separation of duties excludes.
func TestEvaluateProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	names := []string{"ann", "ben", "cat", "dan", "eve", "fay"}
	groups := []string{"sre", "security"}
	met := 0
	for iter := 0; iter < 30000; iter++ {
		vs := randomVoters(r, names, groups, 5)
		p := &gatehouse.Policy{PolicySpec: gatehouse.PolicySpec{Name: "p", RequesterMayApprove: r.IntN(4) == 0, BuilderMayApprove: r.IntN(4) == 0, CountAcrossRules: r.IntN(4) == 0}}
		for k := 0; k < 1+r.IntN(3); k++ {
			switch r.IntN(3) {
			case 0:
				p.Rules = append(p.Rules, gatehouse.Rule{Kind: gatehouse.RuleAny, Count: 1 + r.IntN(3)})
			case 1:
				p.Rules = append(p.Rules, gatehouse.Rule{Kind: gatehouse.RuleGroup, Count: 1 + r.IntN(2), Group: groups[r.IntN(2)]})
			default:
				p.Rules = append(p.Rules, gatehouse.Rule{Kind: gatehouse.RuleUsers, Users: []string{names[r.IntN(6)]}})
			}
		}
		f := gatehouse.ApprovalFacts{Requester: names[r.IntN(6)], Builders: []string{names[r.IntN(6)]}}
		switch r.IntN(4) {
		case 0:
			f.CommitAuthor = strings.ToUpper(names[r.IntN(6)]) + "@Example.com"
		case 1:
			f.CommitAuthor = names[r.IntN(6)]
		}
		if r.IntN(4) == 0 {
			f.Builders = append(f.Builders, names[r.IntN(6)]) // a builder the CI claimed, beside the pusher
		}
		if r.IntN(5) == 0 {
			f.Authors = []string{names[r.IntN(6)]}
		}
		if r.IntN(5) == 0 {
			f.Beneficiaries = []string{names[r.IntN(6)]}
		}
		var approvals []string
		for _, n := range names {
			if r.IntN(2) == 0 {
				approvals = append(approvals, n)
			}
		}
		if len(approvals) > 0 && r.IntN(3) == 0 { // a vote given twice counts once
			approvals = append(approvals, approvals[r.IntN(len(approvals))])
		}
		r.Shuffle(len(approvals), func(i, j int) { approvals[i], approvals[j] = approvals[j], approvals[i] })
		v := p.Evaluate(f, approvals, vs)
		want := oracle.Met(p, f, approvals, vs)
		if v.Met != want {
			t.Fatalf("policy %+v facts %+v approvals %v voters %v: Evaluate met=%v (rules %+v), oracle %v", p, f, approvals, vs, v.Met, v.Rules, want)
		}
		if !v.Met {
			continue
		}
		met++
		seen := map[string]int{}
		for i, rp := range v.Rules {
			if rp.Have < rp.Need || len(rp.Voters) != rp.Have {
				t.Fatalf("met, but rule %d has %d/%d: %+v", i, rp.Have, rp.Need, rp)
			}
			within := map[string]bool{}
			for _, name := range rp.Voters {
				if within[name] {
					t.Fatalf("%s counted twice in rule %d", name, i)
				}
				within[name] = true
				seen[name]++
				if !oracle.Counts(p, f, vs[name]) {
					t.Fatalf("counted %s, whom the separation of duties excludes (facts %+v)", name, f)
				}
				if !slices.Contains(approvals, name) {
					t.Fatalf("counted %s, who did not approve", name)
				}
			}
		}
		for name, n := range seen {
			if n > 1 && !p.CountAcrossRules {
				t.Fatalf("%s counted in %d rules", name, n)
			}
		}
	}
	if met < 2000 {
		t.Fatalf("only %d of 30000 random cases were met: the property was barely exercised", met)
	}
}

func TestPolicySpecValidate(t *testing.T) {
	ok := gatehouse.PolicySpec{Name: "prod", Scope: "project:shop/env:prod", Rules: []gatehouse.Rule{{Kind: "any", Count: 2}},
		Conditions: []string{`artifact.registry == "registry.example.com"`}}
	if _, err := ok.Validate(); err != nil || ok.Expiry != "72h0m0s" || ok.Rollback != gatehouse.RollbackNeedsApproval {
		t.Fatalf("valid spec: %v %+v", err, ok)
	}
	bad := map[string]gatehouse.PolicySpec{
		"rules":             {Name: "p", Scope: "*"},
		"rules[0].count":    {Name: "p", Scope: "*", Rules: []gatehouse.Rule{{Kind: "any", Count: 11}}},
		"rules[0].group":    {Name: "p", Scope: "*", Rules: []gatehouse.Rule{{Kind: "group", Count: 1}}},
		"rules[0].kind":     {Name: "p", Scope: "*", Rules: []gatehouse.Rule{{Kind: "some", Count: 1}}},
		"rules[0].users":    {Name: "p", Scope: "*", Rules: []gatehouse.Rule{{Kind: "users", Users: []string{"a", "a"}}}},
		"expiry":            {Name: "p", Scope: "*", Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}, Expiry: "soon"},
		"rollback":          {Name: "p", Scope: "*", Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}, Rollback: "always"},
		"conditions[0]":     {Name: "p", Scope: "*", Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}, Conditions: []string{`artifact.registry ==`}},
		"conditions[1]":     {Name: "p", Scope: "*", Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}, Conditions: []string{"true", `artifact.registry`}},
		"scope":             {Name: "p", Scope: "prod", Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}},
		"rules[0].users[0]": {Name: "p", Scope: "*", Rules: []gatehouse.Rule{{Kind: "users", Users: []string{"Not Valid"}}}},
	}
	for field, spec := range bad {
		_, err := spec.Validate()
		if e, isErr := err.(*gatehouse.Error); !isErr || e.Field != field {
			t.Errorf("%s: %v", field, err)
		}
	}
}

func TestConditions(t *testing.T) {
	c, err := gatehouse.CompileConditions("conditions", []string{
		`artifact.registry == "registry.example.com"`,
		`artifact.labels["tests"] == "passed"`,
		`"stable" in artifact.tags`,
	})
	if err != nil {
		t.Fatal(err)
	}
	good := &gatehouse.Artifact{Repository: "registry.example.com/shop/web", Tags: []string{"stable"}, Labels: map[string]string{"tests": "passed"}}
	if f := c.Failing(good); len(f) != 0 {
		t.Fatalf("good artifact fails %v", f)
	}
	bad := &gatehouse.Artifact{Repository: "evil.example.org/web", Labels: map[string]string{}}
	f := c.Failing(bad)
	if len(f) != 3 || !strings.Contains(f[1], "no such key") {
		t.Fatalf("bad artifact fails %q", f)
	}
	if _, err := gatehouse.CompileConditions("c", []string{fmt.Sprint("1 + 1")}); err == nil || !strings.Contains(err.Error(), "expected a condition (bool)") {
		t.Fatalf("non-bool condition: %v", err)
	}
}

// TestGateOpen: a gate opens only when some policy judged the change and all are met; what
// is missing names its policy.
func TestGateOpen(t *testing.T) {
	met, unmet := gatehouse.Verdict{Policy: "a", Met: true}, gatehouse.Verdict{Policy: "b", Missing: []string{"1 more approval", "group sre"}}
	for _, c := range []struct {
		vs   []gatehouse.Verdict
		open bool
	}{{nil, false}, {[]gatehouse.Verdict{met}, true}, {[]gatehouse.Verdict{met, unmet}, false}, {[]gatehouse.Verdict{unmet}, false}} {
		if gatehouse.GateOpen(c.vs) != c.open {
			t.Errorf("GateOpen(%v) = %v", c.vs, !c.open)
		}
	}
	if got := strings.Join(gatehouse.GateMissing([]gatehouse.Verdict{met, unmet}), "; "); got != "policy b: 1 more approval; policy b: group sre" {
		t.Errorf("GateMissing: %q", got)
	}
}

// TestForChange: a risk rule adds its rules to a change its condition picks out, and only to
// it; a condition that cannot be compiled adds nothing.
func TestForChange(t *testing.T) {
	extra := gatehouse.Rule{Kind: gatehouse.RuleGroup, Count: 1, Group: "security"}
	p := &gatehouse.Policy{PolicySpec: gatehouse.PolicySpec{Name: "cfg", Kind: gatehouse.PolicyConfig,
		Rules: []gatehouse.Rule{{Kind: gatehouse.RuleAny, Count: 1}},
		Risks: []gatehouse.RiskRule{{When: `"secrets" in change.labels`, Rules: []gatehouse.Rule{extra}}, {When: "nonsense ((", Rules: []gatehouse.Rule{extra}}}}}
	if got := p.ForChange(gatehouse.ConfigSecrets, []string{"secrets"}, nil); len(got.Rules) != 2 || got.Rules[1].Group != "security" {
		t.Fatalf("a secrets change: rules %+v, want the risk rule added once", got.Rules)
	}
	if got := p.ForChange(gatehouse.ConfigValues, []string{"image"}, nil); len(got.Rules) != 1 {
		t.Fatalf("an image change: rules %+v, want the policy's own", got.Rules)
	}
	if len(p.Rules) != 1 {
		t.Fatalf("ForChange changed the policy itself: %+v", p.Rules)
	}
}
