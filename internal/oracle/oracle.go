// Package oracle states Gatehouse's approval rules a second time, slowly and plainly, for
// property tests to check the product against: who may count (from the README's words), and
// whether some assignment of the people who approved meets every rule (by trying them all).
// It shares no code with the rules it checks, and the product never imports it.
package oracle

import (
	"strings"

	"github.com/gatehousehq/gatehouse"
)

// Counts says whether the person may count under the policy: they hold the approver role
// now, did not write the draft, gain no vote by it, and — unless the policy allows it — did
// not request it, push or build it, nor write its commit (named as a user, or by the person's
// e-mail address in any case).
func Counts(p *gatehouse.Policy, f gatehouse.ApprovalFacts, v gatehouse.Voter) bool {
	in := func(names []string) bool {
		for _, n := range names {
			if n == v.Name {
				return true
			}
		}
		return false
	}
	commit := f.CommitAuthor != "" && (f.CommitAuthor == v.Name || (v.Email != "" && strings.ToLower(f.CommitAuthor) == strings.ToLower(v.Email)))
	switch {
	case !v.Eligible, in(f.Authors), in(f.Beneficiaries):
		return false
	case !p.RequesterMayApprove && v.Name == f.Requester:
		return false
	case !p.BuilderMayApprove && (in(f.Builders) || commit):
		return false
	}
	return true
}

// Met decides whether the approvals (a name given twice counts once) meet the policy: whether
// some assignment of the people who may count, each to one rule or to none (to every rule
// they fit, when the policy counts people across rules), gives every rule what it asks.
func Met(p *gatehouse.Policy, f gatehouse.ApprovalFacts, approvals []string, vs map[string]gatehouse.Voter) bool {
	var usable []gatehouse.Voter
	seen := map[string]bool{}
	for _, a := range approvals {
		v, ok := vs[a]
		if !ok {
			v = gatehouse.Voter{Name: a}
		}
		if !seen[a] && Counts(p, f, v) {
			usable = append(usable, v)
		}
		seen[a] = true
	}
	fits := func(r gatehouse.Rule, v gatehouse.Voter) bool {
		switch r.Kind {
		case gatehouse.RuleGroup:
			for _, g := range v.Groups {
				if g == r.Group {
					return true
				}
			}
			return false
		case gatehouse.RuleUsers:
			for _, u := range r.Users {
				if u == v.Name {
					return true
				}
			}
			return false
		}
		return true
	}
	satisfied := func(r gatehouse.Rule, members []gatehouse.Voter) bool {
		if r.Kind == gatehouse.RuleUsers {
			for _, u := range r.Users {
				found := false
				for _, m := range members {
					found = found || m.Name == u
				}
				if !found {
					return false
				}
			}
			return true
		}
		return len(members) >= r.Count
	}
	assigned := func(rule int, choice []int) []gatehouse.Voter {
		var m []gatehouse.Voter
		for j, v := range usable {
			if (choice == nil || choice[j] == rule+1) && fits(p.Rules[rule], v) {
				m = append(m, v)
			}
		}
		return m
	}
	if p.CountAcrossRules {
		for i, r := range p.Rules {
			if !satisfied(r, assigned(i, nil)) {
				return false
			}
		}
		return true
	}
	choice := make([]int, len(usable)) // rule index + 1, or 0 for none
	for {
		ok := true
		for i, r := range p.Rules {
			if !satisfied(r, assigned(i, choice)) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
		k := 0
		for k < len(choice) {
			choice[k]++
			if choice[k] <= len(p.Rules) {
				break
			}
			choice[k] = 0
			k++
		}
		if k == len(choice) {
			return false
		}
	}
}
