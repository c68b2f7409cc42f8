package gatehouse

import (
	"fmt"
	"slices"
)

// Judge is one policy judging a ballot: its rules decide, and the approvals of people who
// hold the policy kind's approve action on Target count (see Voter.Eligible). Different judges
// of one ballot may count different people: an image approval's policies count image
// approvers of the stage; a pipeline change is judged, stage by stage, by the policies of each
// environment it touches.
type Judge struct {
	Policy *Policy
	Target Target
}

// Standing is what judging a ballot needs besides its votes: its judges and the facts its
// separation of duties is about. Stale, when set, says why the ballot can no longer pass at
// all (the policies that judged an approval request changed since it was raised).
type Standing struct {
	Judges []Judge
	Facts  ApprovalFacts
	Stale  string
}

// Policies lists the judges' policies, in order.
func (s Standing) Policies() []*Policy {
	out := make([]*Policy, len(s.Judges))
	for i, j := range s.Judges {
		out[i] = j.Policy
	}
	return out
}

// Judge evaluates approvals (the names of the people who approved, each once) under every
// judge. voters[i] holds what judge i's rules need of each approver (eligibility depends on
// where and for what the judge counts people). There is one verdict per judge, in order.
func (s Standing) Judge(approvals []string, voters []map[string]Voter) []Verdict {
	out := make([]Verdict, 0, len(s.Judges))
	for i, j := range s.Judges {
		out = append(out, j.Policy.Evaluate(s.Facts, approvals, voters[i]))
	}
	return out
}

// MayVote reports whether a person may vote on the ballot at all: whether their approval
// would count under at least one judge. voters[i] describes the person as judge i sees them.
// When they may not, the reasons say why, each once.
func (s Standing) MayVote(voters []Voter) (bool, []string) {
	var why []string
	for i, j := range s.Judges {
		ok, reason := j.Policy.MayCount(voters[i], s.Facts)
		if ok {
			return true, nil
		}
		if !slices.Contains(why, reason) {
			why = append(why, reason)
		}
	}
	return false, why
}

// Satisfiable reports whether the ballot could still pass if every person who may count
// approved: candidates[i] are the people judge i would count now (approver role held, not
// disabled, not a service account). A ballot that is not satisfiable is locked out: no
// eligible approver is left.
func (s Standing) Satisfiable(candidates []map[string]Voter) bool {
	if len(s.Judges) == 0 {
		return false
	}
	for i, j := range s.Judges {
		var names []string
		for n := range candidates[i] {
			names = append(names, n)
		}
		slices.Sort(names)
		if !j.Policy.Evaluate(s.Facts, names, candidates[i]).Met {
			return false
		}
	}
	return true
}

// LockoutPolicy is the rule that judges a policy change once the policy's own rules can no
// longer be met by anyone (its approvers left): one approval from a person who may manage the
// policy's scope, never its author — so leaving a lock-out takes two distinct people, and the
// trail records that this way was taken.
func LockoutPolicy(p *Policy) *Policy {
	return &Policy{ID: p.ID, Version: p.Version, PolicySpec: PolicySpec{
		Name:        p.Name + " (lock-out)",
		Description: fmt.Sprintf("no eligible approver of policy %s is left: a person who manages its scope approves instead", p.Name),
		Kind:        PolicyLockout, Scope: p.Scope, Rules: []Rule{{Kind: RuleAny, Count: 1}}, Expiry: "none", Rollback: RollbackNeedsApproval,
	}}
}
