package gatehouse

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Loosenings compares a policy with a proposed replacement (next; nil deletes the policy) and
// lists every way the replacement lets more through. An empty list means the replacement is
// at least as strict: whatever it lets pass, the policy lets pass too, so it may apply at
// once; anything else needs the approval of the people the policy names.
//
// Both specs must be valid (defaults filled). The comparison is conservative: a change whose
// strictness it cannot prove (a rewritten condition, a changed risk rule) counts as loosening.
// It holds that next is at least as strict when:
//   - it is of the same kind and its scope covers the policy's scope;
//   - every rule of the policy is implied by a rule of next — "any N" by any rule asking for
//     at least N people, "N from group G" by a rule asking for at least N from G, "users U"
//     by a users rule naming all of U — and, unless either counts people across rules,
//     by distinct rules of next (a person counts for one rule only);
//   - it counts people across rules only if the policy does;
//   - no separation-of-duty switch is turned on (the requester, builder or approver allowed
//     to approve or deploy);
//   - its expiry is no longer, it keeps every condition and risk rule, and it pre-approves no
//     rollback the policy does not.
func (p *PolicySpec) Loosenings(next *PolicySpec) []string {
	if next == nil {
		return []string{"deletes the policy"}
	}
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if next.Kind != p.Kind {
		add("changes its kind from %s to %s", p.Kind, next.Kind)
	}
	was, errWas := ParseScope("scope", p.Scope)
	now, errNow := ParseScope("scope", next.Scope)
	if errWas != nil || errNow != nil || !now.Covers(was) {
		add("narrows its scope from %s to %s", p.Scope, next.Scope)
	}
	if p.CountAcrossRules == next.CountAcrossRules || !next.CountAcrossRules {
		if !rulesImply(next.Rules, p.Rules, !p.CountAcrossRules && !next.CountAcrossRules) {
			add("asks for less than %s", rulesText(p.Rules))
		}
	}
	switches := []struct {
		name      string
		was, next bool
	}{
		{"lets the requester approve", p.RequesterMayApprove, next.RequesterMayApprove},
		{"lets the image's builder approve", p.BuilderMayApprove, next.BuilderMayApprove},
		{"lets an approver deploy what they approved", p.ApproverMayDeploy, next.ApproverMayDeploy},
		{"counts one person for several rules", p.CountAcrossRules, next.CountAcrossRules},
	}
	for _, s := range switches {
		if !s.was && s.next {
			add("%s", s.name)
		}
	}
	if expiryOf(next.Expiry) > expiryOf(p.Expiry) {
		add("lets approvals live longer (%s instead of %s)", next.Expiry, p.Expiry)
	}
	if next.ReviewCount() < p.ReviewCount() {
		add("asks fewer approvers to review a use of break-glass (%d instead of %d)", next.ReviewCount(), p.ReviewCount())
	}
	if next.ReviewPeriod() > p.ReviewPeriod() {
		add("gives break-glass reviews longer (%s instead of %s)", next.ReviewPeriod(), p.ReviewPeriod())
	}
	for _, c := range p.Conditions {
		if !slices.Contains(next.Conditions, c) {
			add("drops the condition %s", c)
		}
	}
	for _, r := range p.Risks {
		if !slices.ContainsFunc(next.Risks, func(n RiskRule) bool { return n.When == r.When && rulesImply(n.Rules, r.Rules, true) }) {
			add("drops or weakens the risk rule for %s", r.When)
		}
	}
	if p.Rollback != RollbackPreApproved && next.Rollback == RollbackPreApproved {
		add("pre-approves rollbacks")
	}
	if p.ConfigRollback != RollbackPreApproved && next.ConfigRollback == RollbackPreApproved {
		add("pre-approves the configuration of rollbacks")
	}
	return out
}

// expiryOf is how long an expiry lets a request live; "none" is forever.
func expiryOf(s string) time.Duration {
	if s == "none" {
		return time.Duration(1<<63 - 1)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return DefaultApprovalExpiry
	}
	return d
}

// rulesImply reports whether every set of people that meets the rules strong also meets the
// rules weak: each weak rule is implied by a strong rule, by distinct strong rules when
// distinct is set.
func rulesImply(strong, weak []Rule, distinct bool) bool {
	implies := func(w, s int) bool { return ruleImplies(strong[s], weak[w]) }
	if !distinct {
		for w := range weak {
			if !slices.ContainsFunc(strong, func(s Rule) bool { return ruleImplies(s, weak[w]) }) {
				return false
			}
		}
		return true
	}
	idx := make([]int, len(weak))
	for i := range idx {
		idx[i] = i
	}
	filled := make([]int, len(weak))
	match(len(strong), idx, implies, filled)
	return !slices.Contains(filled, 0)
}

// ruleImplies reports whether any set of people that meets rule s meets rule w.
func ruleImplies(s, w Rule) bool {
	people := s.Count
	if s.Kind == RuleUsers {
		people = len(s.Users)
	}
	switch w.Kind {
	case RuleAny:
		return people >= w.Count
	case RuleGroup:
		return s.Kind == RuleGroup && s.Group == w.Group && s.Count >= w.Count
	case RuleUsers:
		return s.Kind == RuleUsers && !slices.ContainsFunc(w.Users, func(u string) bool { return !slices.Contains(s.Users, u) })
	}
	return false
}

func rulesText(rs []Rule) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.String()
	}
	return strings.Join(parts, " + ")
}
