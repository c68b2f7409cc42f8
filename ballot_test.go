package gatehouse_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
)

// TestBallotTransitions: the transition table, written out by hand per flow. Every state of a
// flow is either open (it has moves) or final, requests never take draft states and drafts
// never take request ones, and votes are taken only while waiting for them.
func TestBallotTransitions(t *testing.T) {
	type move struct {
		from, to gatehouse.BallotState
	}
	allowed := map[gatehouse.BallotFlow][]move{
		gatehouse.FlowRequest: {
			{"pending", "approved"}, {"pending", "rejected"}, {"pending", "cancelled"}, {"pending", "expired"}, {"pending", "stale"},
			{"approved", "consumed"}, {"approved", "rejected"}, {"approved", "cancelled"}, {"approved", "expired"}, {"approved", "stale"},
		},
		gatehouse.FlowDraft: {
			{"draft", "proposed"}, {"draft", "discarded"},
			{"proposed", "approved"}, {"proposed", "draft"}, {"proposed", "discarded"},
			{"approved", "published"}, {"approved", "proposed"}, {"approved", "draft"}, {"approved", "discarded"},
		},
	}
	every := append(slices.Clone(gatehouse.ApprovalStates), gatehouse.DraftStates...)
	for flow, moves := range allowed {
		for _, from := range every {
			for _, to := range every {
				want := slices.Contains(moves, move{from, to})
				if got := flow.CanMove(from, to); got != want {
					t.Errorf("%s: %s → %s allowed = %v, want %v", flow, from, to, got, want)
				}
			}
		}
	}
	for _, s := range []gatehouse.BallotState{"consumed", "cancelled", "rejected", "expired", "stale", "published", "discarded"} {
		if s.Open() {
			t.Errorf("%s is open, want final", s)
		}
	}
	for _, s := range []gatehouse.BallotState{"pending", "approved", "draft", "proposed"} {
		if !s.Open() {
			t.Errorf("%s is final, want open", s)
		}
	}
	votes := map[gatehouse.BallotFlow][]gatehouse.BallotState{gatehouse.FlowRequest: {"pending", "approved"}, gatehouse.FlowDraft: {"proposed", "approved"}}
	for flow, states := range votes {
		for _, s := range every {
			if got := flow.Votable(s); got != slices.Contains(states, s) {
				t.Errorf("%s: votes in %s = %v", flow, s, got)
			}
		}
	}
}

// TestStandingJudgesAndLockout: each judge counts its own people; a standing whose rules no
// one left can meet is not satisfiable, and the lock-out rule asks one person who manages the
// scope, never the author.
func TestStandingJudgesAndLockout(t *testing.T) {
	users := func(names ...string) *gatehouse.Policy {
		return &gatehouse.Policy{Version: 1, PolicySpec: gatehouse.PolicySpec{Name: "solo", Scope: "project:shop/env:prod",
			Rules: []gatehouse.Rule{{Kind: gatehouse.RuleUsers, Users: names}}}}
	}
	any := &gatehouse.Policy{Version: 2, PolicySpec: gatehouse.PolicySpec{Name: "two", Kind: gatehouse.PolicyConfig, Rules: []gatehouse.Rule{{Kind: gatehouse.RuleAny, Count: 2}}}}
	st := gatehouse.Standing{Judges: []gatehouse.Judge{{Policy: users("zed")}, {Policy: any}}, Facts: gatehouse.ApprovalFacts{Authors: []string{"dave"}}}
	// zed counts for the first judge only; ann and ben for the second only.
	first := voters("zed")
	second := voters("ann", "ben", "dave")
	v := st.Judge([]string{"zed", "ann", "ben", "dave"}, []map[string]gatehouse.Voter{first, second})
	if len(v) != 2 || !v[0].Met || !v[1].Met || strings.Contains(strings.Join(v[1].Rules[0].Voters, ","), "dave") {
		t.Fatalf("verdicts %+v", v)
	}
	if ok, why := st.MayVote([]gatehouse.Voter{first["dave"], second["dave"]}); ok || !strings.Contains(strings.Join(why, ";"), "dave wrote a version") {
		t.Fatalf("the author may vote: %v %v", ok, why)
	}
	if !st.Satisfiable([]map[string]gatehouse.Voter{first, second}) {
		t.Fatal("zed, ann and ben can meet both judges")
	}
	gone := map[string]gatehouse.Voter{}
	if st.Satisfiable([]map[string]gatehouse.Voter{gone, second}) {
		t.Fatal("with zed gone, solo cannot be met, yet it is satisfiable")
	}
	lock := gatehouse.LockoutPolicy(users("zed"))
	if lock.Kind.ApproveAction() != gatehouse.ActionManage || lock.Scope != "project:shop/env:prod" || lock.Rules[0].String() != "1 approver" {
		t.Fatalf("lock-out rule %+v", lock)
	}
	ls := gatehouse.Standing{Judges: []gatehouse.Judge{{Policy: lock}}, Facts: gatehouse.ApprovalFacts{Authors: []string{"dave"}}}
	if v := ls.Judge([]string{"dave"}, []map[string]gatehouse.Voter{voters("dave")}); v[0].Met {
		t.Fatal("the author alone leaves the lock-out")
	}
	if v := ls.Judge([]string{"dave", "erin"}, []map[string]gatehouse.Voter{voters("dave", "erin")}); !v[0].Met {
		t.Fatal("a second person who manages the scope does not leave the lock-out")
	}
}

func TestDraftRefValidate(t *testing.T) {
	ok := []gatehouse.DraftRef{
		{Kind: "values", Project: "shop", App: "web"}, {Kind: "values", Project: "shop", App: "web", Environment: "prod"},
		{Kind: "secrets", Project: "shop", App: "web", Environment: "prod"}, {Kind: "environment", Project: "shop", Environment: "prod"},
		{Kind: "chart", Project: "shop", App: "web"}, {Kind: "policy", Policy: "prod-gate"}, {Kind: "rollback", Project: "shop", App: "web", Environment: "prod"},
		{Kind: "access", User: "bob"}, {Kind: "access", Group: "sre"},
	}
	for _, r := range ok {
		if err := r.Validate(); err != nil {
			t.Errorf("%+v: %v", r, err)
		}
	}
	bad := map[string]gatehouse.DraftRef{
		"kind":        {Kind: "vault", Project: "shop"},
		"environment": {Kind: "secrets", Project: "shop", App: "web"},
		"app":         {Kind: "environment", Project: "shop", App: "web", Environment: "prod"},
		"project":     {Kind: "policy", Project: "shop", Policy: "p"},
		"policy":      {Kind: "chart", Project: "shop", App: "web", Policy: "p"},
	}
	for field, r := range bad {
		if e, isErr := r.Validate().(*gatehouse.Error); !isErr || e.Field != field {
			t.Errorf("%+v: %v, want an error naming %s", r, r.Validate(), field)
		}
	}
	// An access draft names exactly one user or group, and nothing else does.
	for _, c := range []struct {
		r     gatehouse.DraftRef
		field string
	}{
		{gatehouse.DraftRef{Kind: "access"}, "user"},
		{gatehouse.DraftRef{Kind: "access", User: "bob", Group: "sre"}, "user"},
		{gatehouse.DraftRef{Kind: "access", User: "bob", Project: "shop"}, "project"},
		{gatehouse.DraftRef{Kind: "access", Group: "Not A Name"}, "group"},
		{gatehouse.DraftRef{Kind: "chart", Project: "shop", App: "web", User: "bob"}, "user"},
		{gatehouse.DraftRef{Kind: "policy", Policy: "p", Group: "sre"}, "group"},
	} {
		if e, isErr := c.r.Validate().(*gatehouse.Error); !isErr || e.Field != c.field {
			t.Errorf("%+v: %v, want an error naming %s", c.r, c.r.Validate(), c.field)
		}
	}
}

// FuzzParseSetting: reading a setting never panics, refuses what its type cannot hold, and
// what it reads renders to text that reads back the same.
func FuzzParseSetting(f *testing.F) {
	for _, s := range []string{"cluster: c1\nnamespace: shop\n", "allow_namespaces: [a, b]\n", "namespace: 7\n", "- a\n", "bogus: 1\n",
		"pre_deploy:\n  - name: m\n    image: x@sha256:" + strings.Repeat("a", 64) + "\n", "{", "rules: [{kind: any, count: 2}]\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, dst := range []any{&gatehouse.Placement{}, &gatehouse.Hooks{}, &gatehouse.PolicySpec{}} {
			if err := gatehouse.ParseSetting("content", text, dst); err != nil {
				if e, isErr := err.(*gatehouse.Error); !isErr || e.Field != "content" {
					t.Fatalf("error %v does not name the field", err)
				}
				continue
			}
			out, err := gatehouse.RenderSetting(dst)
			if err != nil {
				t.Fatal(err)
			}
			again := reflectNew(dst)
			if err := gatehouse.ParseSetting("content", out, again); err != nil {
				t.Fatalf("%q read, rendered as %q, which does not read back: %v", text, out, err)
			}
			if back, _ := gatehouse.RenderSetting(again); back != out {
				t.Fatalf("render is not stable: %q then %q", out, back)
			}
		}
	})
}

func reflectNew(v any) any {
	switch v.(type) {
	case *gatehouse.Placement:
		return &gatehouse.Placement{}
	case *gatehouse.Hooks:
		return &gatehouse.Hooks{}
	}
	return &gatehouse.PolicySpec{}
}
