package gatehouse

import (
	"fmt"
	"slices"
	"strings"
)

// Access is what a draft of kind access changes: the roles a user or a group holds, and a
// group's members. Who may vote is a setting that decides what runs — a person granted an
// approver role lets through what their approval lets through — so where a policy reaches,
// giving someone a vote is judged like loosening that policy.
type Access struct {
	Roles   []RoleGrant `json:"roles"`
	Members []string    `json:"members,omitempty"` // a group's; a user has none
}

// EditAccess returns access content (YAML, as drafts of kind access take it) with edit
// applied: the draft of a grant or a membership is what is live with one more.
func EditAccess(content string, edit func(*Access)) (string, error) {
	var a Access
	if err := ParseSetting("content", content, &a); err != nil {
		return "", err
	}
	edit(&a)
	return RenderSetting(a)
}

// RoleGrant is one role on one scope.
type RoleGrant struct {
	Role  Role   `json:"role"`
	Scope string `json:"scope"`
}

// String renders the grant as people read it: "image-approver on project:shop/env:prod".
func (g RoleGrant) String() string { return fmt.Sprintf("%s on %s", g.Role, g.Scope) }

// Normalize checks every field and puts the access in its canonical form: scopes written as
// ParseScope writes them, roles and members sorted, each once. A user (group false) has no
// members.
func (a *Access) Normalize(group bool) error {
	if a.Roles == nil {
		a.Roles = []RoleGrant{}
	}
	for i := range a.Roles {
		g := &a.Roles[i]
		field := fmt.Sprintf("roles[%d]", i)
		if err := ValidateRole(field+".role", g.Role); err != nil {
			return err
		}
		sc, err := ParseScope(field+".scope", g.Scope)
		if err != nil {
			return err
		}
		if g.Role == RoleSuperAdmin && sc != GlobalScope {
			return Invalidf(field+".scope", "super-admin is bound on the global scope only: expected \"*\"")
		}
		g.Scope = sc.String()
	}
	slices.SortFunc(a.Roles, func(x, y RoleGrant) int { return strings.Compare(x.String(), y.String()) })
	a.Roles = slices.Compact(a.Roles)
	if !group && len(a.Members) > 0 {
		return Invalidf("members", "a user has no members: expected none (members are a group's)")
	}
	for i, m := range a.Members {
		if err := ValidateUserName(fmt.Sprintf("members[%d]", i), m); err != nil {
			return err
		}
	}
	slices.Sort(a.Members)
	a.Members = slices.Compact(a.Members)
	return nil
}

// Votes reports whether holders of the role vote on ballots — approvers under the policies of
// their kind, those who manage (admin, super-admin) under the lock-out rule — or pass over
// them (break-glass): a power over what the gate lets through.
func (r Role) Votes() bool {
	return r.Allows(ActionApproveImage) || r.Allows(ActionApproveConfig) || r.Allows(PolicyLockout.ApproveAction()) || r.Allows(ActionBreakGlass)
}

// Power is a voting role one person holds on a scope.
type Power struct {
	Person string
	Grant  RoleGrant
}

// powers lists the voting roles the holders hold through the access: for a user, the user
// (holders is the user's name); for a group, each member.
func (a Access) powers(holders []string) []Power {
	var out []Power
	for _, h := range holders {
		for _, g := range a.Roles {
			if g.Role.Votes() {
				out = append(out, Power{Person: h, Grant: g})
			}
		}
	}
	return out
}

// PowersGained lists the votes a change of access gives people that it did not give them
// before, in order: for a user (user names it), the voting roles added; for a group (user
// ""), the new voting roles of every member and every voting role of the new members. Both
// accesses must be normalized. A wider scope replacing a narrower one counts as gained.
func PowersGained(user string, before, after Access) []Power {
	holders := func(a Access) []string {
		if user != "" {
			return []string{user}
		}
		return a.Members
	}
	had := before.powers(holders(before))
	var out []Power
	for _, p := range after.powers(holders(after)) {
		if !slices.Contains(had, p) {
			out = append(out, p)
		}
	}
	return out
}

// MembersAdded lists the members after has that before had not (both normalized).
func MembersAdded(before, after Access) []string {
	var out []string
	for _, m := range after.Members {
		if !slices.Contains(before.Members, m) {
			out = append(out, m)
		}
	}
	return out
}

// Intersects reports whether some target is reached by both scopes: a binding on s and a
// policy on o meet there.
func (s Scope) Intersects(o Scope) bool {
	meet := func(a, b string) bool { return a == "" || b == "" || a == "*" || b == "*" || a == b }
	return (s.Project == "*" || o.Project == "*" || s.Project == o.Project) && meet(s.App, o.App) && meet(s.Env, o.Env)
}

// CountsUnder says whether a holder of the grant votes under the policy where their scopes
// meet: as one of its approvers (the role approves the policy's kind, or passes over image
// gates: break-glass), or under its lock-out rule (the role manages there).
func (g RoleGrant) CountsUnder(p *Policy) (counts, lockout bool) {
	sc, err := ParseScope("scope", g.Scope)
	if err != nil {
		return false, false
	}
	psc, err := ParseScope("scope", p.Scope)
	if err != nil || !sc.Intersects(psc) {
		return false, false
	}
	if g.Role.Allows(p.Kind.ApproveAction()) || (g.Role.Allows(ActionBreakGlass) && p.Kind == PolicyImage) {
		return true, false
	}
	return g.Role.Allows(PolicyLockout.ApproveAction()), true
}
