package gatehouse

import (
	"fmt"
	"slices"
	"strings"
)

// Voter is what the approval rules need to know of a person, as of the moment of judging.
type Voter struct {
	Name  string
	Email string
	// Eligible means the person may approve here now: a person (not a service account), not
	// disabled, holding the policy kind's approver role (image-approver, config-approver) on
	// the target.
	Eligible bool
	Groups   []string
}

// ApprovalFacts are the people a policy's separation of duties is about. They are people,
// never accounts: whatever is done through a service account's token is done by the person
// who made the token.
type ApprovalFacts struct {
	// Requester is the person who raised the approval request.
	Requester string
	// Builders are the people who built the image: the person who pushed it, and the builder
	// the push named (as claimed by CI: it adds a person, it never clears one).
	Builders     []string
	CommitAuthor string // a user name or e-mail address
	// Authors wrote a version of a draft: they never approve it, whatever the policy says.
	Authors []string
	// Beneficiaries gain a vote by the change (an access draft): they never approve it.
	Beneficiaries []string
}

// RuleProgress is how far one rule is met.
type RuleProgress struct {
	Rule   string   `json:"rule"`
	Have   int      `json:"have"`
	Need   int      `json:"need"`
	Voters []string `json:"voters"`
}

// GateOpen reports whether a change may pass its gate: at least one policy judged it and
// every verdict is met. With no verdicts nothing was judged, so nothing opens.
func GateOpen(vs []Verdict) bool {
	return len(vs) > 0 && !slices.ContainsFunc(vs, func(v Verdict) bool { return !v.Met })
}

// GateMissing lists what the unmet verdicts still need, each as "policy NAME: what".
func GateMissing(vs []Verdict) []string {
	var out []string
	for _, v := range vs {
		for _, m := range v.Missing {
			out = append(out, fmt.Sprintf("policy %s: %s", v.Policy, m))
		}
	}
	return out
}

// Verdict is a policy's judgement of a request's approvals.
type Verdict struct {
	Policy  string         `json:"policy"`
	Version int64          `json:"version"`
	Met     bool           `json:"met"`
	Rules   []RuleProgress `json:"rules"`
	Missing []string       `json:"missing,omitempty"`
	// Ignored lists approvals that count for nothing here, with why.
	Ignored []string `json:"ignored,omitempty"`
}

// MayCount reports whether a voter's approval may count under the policy at all, and if not,
// why: people who are not eligible now, and (unless the policy allows it) the requester and
// the image's builder or commit author.
func (p *Policy) MayCount(v Voter, f ApprovalFacts) (bool, string) {
	switch {
	case !v.Eligible:
		return false, fmt.Sprintf("%s does not hold %s here (now)", v.Name, p.Kind.ApproverRole())
	case slices.Contains(f.Authors, v.Name):
		return false, v.Name + " wrote a version of the draft"
	case slices.Contains(f.Beneficiaries, v.Name):
		return false, v.Name + " gains a vote by it"
	case !p.RequesterMayApprove && v.Name == f.Requester:
		return false, v.Name + " requested it"
	case !p.BuilderMayApprove && (slices.Contains(f.Builders, v.Name) || f.wroteCommit(v)):
		return false, v.Name + " built it or wrote its commit"
	}
	return true, ""
}

// wroteCommit reports whether the voter is the commit author, by user name or e-mail address.
func (f ApprovalFacts) wroteCommit(v Voter) bool {
	return f.CommitAuthor != "" && (v.Name == f.CommitAuthor || (v.Email != "" && strings.EqualFold(v.Email, f.CommitAuthor)))
}

// ForChange returns the policy as it applies to a configuration change: its rules plus those
// of every risk rule whose condition holds of the change.
func (p *Policy) ForChange(kind ConfigKind, labels []string, changes []ValueChange) *Policy {
	c := *p
	c.Rules = slices.Clone(p.Rules)
	for i, rr := range p.Risks {
		cond, err := CompileChangeCondition(fmt.Sprintf("risks[%d].when", i), rr.When)
		if err == nil && cond.Holds(kind, labels, changes) {
			c.Rules = append(c.Rules, rr.Rules...)
		}
	}
	return &c
}

// Evaluate judges approvals (the names of the people who approved; a name given twice counts
// once) under the policy. Each approval counts for one rule only, unless the policy counts people across
// rules; within a rule a person always counts once. The assignment of people to rules is a
// maximum bipartite matching, so the verdict is met exactly when some assignment meets every
// rule. voters must hold every approver.
func (p *Policy) Evaluate(f ApprovalFacts, approvals []string, voters map[string]Voter) Verdict {
	v := Verdict{Policy: p.Name, Version: p.Version}
	var usable []Voter
	for i, name := range approvals {
		if slices.Contains(approvals[:i], name) {
			continue
		}
		voter, ok := voters[name]
		if !ok {
			voter = Voter{Name: name}
		}
		if ok, why := p.MayCount(voter, f); !ok {
			v.Ignored = append(v.Ignored, why)
			continue
		}
		usable = append(usable, voter)
	}
	// Slots: one per approval a rule needs, each with the people who may fill it.
	type slot struct {
		rule int
		can  func(Voter) bool
	}
	var slots []slot
	for i, r := range p.Rules {
		switch r.Kind {
		case RuleUsers:
			for _, u := range r.Users {
				slots = append(slots, slot{rule: i, can: func(x Voter) bool { return x.Name == u }})
			}
		case RuleGroup:
			for k := 0; k < r.Count; k++ {
				slots = append(slots, slot{rule: i, can: func(x Voter) bool { return slices.Contains(x.Groups, r.Group) }})
			}
		default:
			for k := 0; k < r.Count; k++ {
				slots = append(slots, slot{rule: i, can: func(Voter) bool { return true }})
			}
		}
	}
	filled := make([]int, len(slots)) // voter index + 1, or 0
	if p.CountAcrossRules {
		// Rules are independent: match each rule's slots on its own.
		for i := range p.Rules {
			var idx []int
			for s := range slots {
				if slots[s].rule == i {
					idx = append(idx, s)
				}
			}
			match(len(usable), idx, func(s, x int) bool { return slots[s].can(usable[x]) }, filled)
		}
	} else {
		idx := make([]int, len(slots))
		for s := range idx {
			idx[s] = s
		}
		match(len(usable), idx, func(s, x int) bool { return slots[s].can(usable[x]) }, filled)
	}
	v.Met = true
	for i, r := range p.Rules {
		rp := RuleProgress{Rule: r.String(), Voters: []string{}}
		for s, sl := range slots {
			if sl.rule != i {
				continue
			}
			rp.Need++
			if filled[s] > 0 {
				rp.Have++
				rp.Voters = append(rp.Voters, usable[filled[s]-1].Name)
			}
		}
		if rp.Have < rp.Need {
			v.Met = false
			v.Missing = append(v.Missing, missingText(r, rp.Need-rp.Have, rp.Voters))
		}
		v.Rules = append(v.Rules, rp)
	}
	return v
}

func missingText(r Rule, n int, have []string) string {
	switch r.Kind {
	case RuleGroup:
		return fmt.Sprintf("needs %d more %s from group %s", n, approvalWord(n), r.Group)
	case RuleUsers:
		var want []string
		for _, u := range r.Users {
			if !slices.Contains(have, u) {
				want = append(want, u)
			}
		}
		return "needs the approval of " + strings.Join(want, " and ")
	}
	return fmt.Sprintf("needs %d more %s", n, approvalWord(n))
}

func approvalWord(n int) string {
	if n == 1 {
		return "approval"
	}
	return "approvals"
}

// match finds a maximum matching of the slots idx, all empty, to voters 0..n-1 (Kuhn's
// augmenting paths); filled gets, per slot, the matched voter + 1. A voter fills at most one
// slot of idx.
func match(n int, idx []int, can func(slot, voter int) bool, filled []int) {
	owner := make([]int, n) // slot + 1 a voter fills, or 0
	var try func(s int, seen []bool) bool
	try = func(s int, seen []bool) bool {
		for x := 0; x < n; x++ {
			if seen[x] || !can(s, x) {
				continue
			}
			seen[x] = true
			// Free, or its slot can move to someone else (which re-fills that slot).
			if owner[x] == 0 || try(owner[x]-1, seen) {
				owner[x], filled[s] = s+1, x+1
				return true
			}
		}
		return false
	}
	for _, s := range idx {
		if filled[s] == 0 {
			try(s, make([]bool, n))
		}
	}
}
