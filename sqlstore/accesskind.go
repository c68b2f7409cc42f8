package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

// principal is the user or group an access draft changes.
type principal struct {
	kind string // "user" or "group"
	id   int64
	name string
	user *gatehouse.User // for a user
}

func (p principal) String() string { return p.kind + "/" + p.name }

// findPrincipal reads the user or group a reference names, seeing the whole directory (who
// may see or change it is checked apart). One that does not exist is invalid input.
func findPrincipal(ctx context.Context, q querier, user, group string) (*principal, error) {
	if user != "" {
		u, err := findUser(ctx, q, user)
		if err != nil {
			return nil, gatehouse.Invalidf("user", "user %q does not exist", user)
		}
		return &principal{kind: "user", id: u.ID, name: u.Name, user: u}, nil
	}
	g, err := findGroup(ctx, q, group)
	if err != nil {
		return nil, gatehouse.Invalidf("group", "group %q does not exist", group)
	}
	return &principal{kind: "group", id: g.ID, name: g.Name}, nil
}

// readAccess reads a principal's roles and, for a group, its members, normalized.
func readAccess(ctx context.Context, q querier, p *principal) (gatehouse.Access, error) {
	var a gatehouse.Access
	var err error
	if a.Roles, err = queryAll(ctx, q, func(r scanner) (gatehouse.RoleGrant, error) {
		var g gatehouse.RoleGrant
		return g, r.Scan(&g.Role, &g.Scope)
	}, `SELECT role, scope FROM role_bindings WHERE subject_kind = $1 AND subject_id = $2`, p.kind, p.id); err != nil {
		return a, fmt.Errorf("read roles: %w", err)
	}
	if p.kind == "group" {
		if a.Members, err = queryAll(ctx, q, scanString, `SELECT u.name FROM group_members m JOIN users u ON u.id = m.user_id
			WHERE m.group_id = $1`, p.id); err != nil {
			return a, fmt.Errorf("read members: %w", err)
		}
	}
	return a, a.Normalize(p.kind == "group")
}

// parseAccess reads an access draft's content.
func parseAccess(field, text string, group bool) (gatehouse.Access, error) {
	var a gatehouse.Access
	if err := gatehouse.ParseSetting(field, text, &a); err != nil {
		return a, err
	}
	return a, a.Normalize(group)
}

// accessKind is the draft kind of a user's or group's roles and a group's members. A change
// that gives someone a vote where a policy reaches is judged there (see judges); one that
// only takes votes away applies at once.
type accessKind struct{ setting }

func (accessKind) live(ctx context.Context, _ *DB, q querier, s subject) (string, error) {
	a, err := readAccess(ctx, q, s.principal)
	return renderSetting(a), err
}

// prepare checks new content, and that the writer may make every change in it against what
// is live: each role granted or revoked as CanGrant allows, members changed by who
// administers users and groups.
func (accessKind) prepare(ctx context.Context, _ *DB, q querier, s subject, content, _ string) (string, error) {
	group := s.principal.kind == "group"
	a, err := parseAccess("content", content, group)
	if err != nil {
		return "", err
	}
	if u := s.principal.user; u != nil && u.Kind != gatehouse.HumanUser {
		for i, g := range a.Roles {
			if approverRoles[g.Role] {
				return "", gatehouse.Invalidf(fmt.Sprintf("roles[%d].role", i), "%s is a service account: approver roles are for people only", u.Name)
			}
		}
	}
	for i, m := range a.Members {
		if _, err := userID(ctx, q, "members", m); err != nil {
			return "", gatehouse.Invalidf(fmt.Sprintf("members[%d]", i), "user %q does not exist", m)
		}
	}
	live, err := readAccess(ctx, q, s.principal)
	if err != nil {
		return "", err
	}
	who := gatehouse.ActorFrom(ctx)
	for _, g := range symmetricDiff(live.Roles, a.Roles) {
		sc, err := gatehouse.ParseScope("scope", g.Scope)
		if err != nil {
			return "", err
		}
		if !gatehouse.CanGrant(who.Grants, g.Role, sc) {
			return "", gatehouse.Forbiddenf("%s may not grant or revoke %s on %s: an access-manager grants only roles it holds itself, within its scope",
				who.UserName, g.Role, sc)
		}
	}
	if len(symmetricDiff(live.Members, a.Members)) > 0 {
		if err := who.Require(gatehouse.ActionAdminister, gatehouse.Target{}); err != nil {
			return "", err
		}
	}
	return renderSetting(a), nil
}

// symmetricDiff lists what one of a and b holds and the other does not.
func symmetricDiff[T comparable](a, b []T) []T {
	var out []T
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			out = append(out, x)
		}
	}
	return out
}

// accessChange parses both sides of an access change.
func accessChange(s subject, live, body string) (before, after gatehouse.Access, err error) {
	group := s.principal.kind == "group"
	if before, err = parseAccess("live", live, group); err != nil {
		return before, after, err
	}
	after, err = parseAccess("content", body, group)
	return before, after, err
}

func (s subject) principalUser() string {
	if s.principal.kind == "user" {
		return s.principal.name
	}
	return ""
}

// judges of an access change: for every vote it gives a person (see PowersGained), each
// policy that vote would count under — the policies of the role's kind whose scope meets the
// grant's, counting people where they meet — and, for a role that votes under the lock-out
// rule (admin, super-admin), that rule of every policy its scope meets. A person added to a
// group that a policy's rule names is judged by that policy. Nothing judges a change that
// gives nobody a vote.
func (accessKind) judges(ctx context.Context, _ *DB, q querier, s subject, live, body string, _ *gatehouse.ConfigChange) ([]gatehouse.Judge, error) {
	before, after, err := accessChange(s, live, body)
	if err != nil {
		return nil, err
	}
	policies, err := allPolicies(ctx, q)
	if err != nil {
		return nil, err
	}
	var out []gatehouse.Judge
	add := func(p *gatehouse.Policy, t gatehouse.Target) {
		j := gatehouse.Judge{Policy: p, Target: judgeTarget(t, p)}
		if !slices.ContainsFunc(out, func(o gatehouse.Judge) bool { return o.Policy.Name == p.Name && o.Target == j.Target }) {
			out = append(out, j)
		}
	}
	for _, pw := range gatehouse.PowersGained(s.principalUser(), before, after) {
		sc, err := gatehouse.ParseScope("scope", pw.Grant.Scope)
		if err != nil {
			return nil, err
		}
		for _, p := range policies {
			switch counts, lockout := pw.Grant.CountsUnder(p); {
			case counts && lockout:
				add(gatehouse.LockoutPolicy(p), scopeTarget(sc))
			case counts:
				add(p, scopeTarget(sc))
			}
		}
	}
	if len(gatehouse.MembersAdded(before, after)) > 0 {
		for _, p := range policies {
			if slices.ContainsFunc(p.Rules, func(r gatehouse.Rule) bool { return r.Kind == gatehouse.RuleGroup && r.Group == s.principal.name }) {
				add(p, gatehouse.Target{})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b gatehouse.Judge) int { return strings.Compare(a.Policy.Name, b.Policy.Name) })
	return out, nil
}

// beneficiaries are the people an access change gives a vote, and a group's new members:
// they never approve it.
func (accessKind) beneficiaries(s subject, live, body string) []string {
	before, after, err := accessChange(s, live, body)
	if err != nil {
		return nil
	}
	out := gatehouse.MembersAdded(before, after)
	for _, pw := range gatehouse.PowersGained(s.principalUser(), before, after) {
		out = append(out, pw.Person)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// apply makes the access live: bindings revoked and granted, members removed and added, each
// audited as when done one by one. It returns the last binding it granted (0 for none).
func (accessKind) apply(tx *Tx, s subject, live, body string, how application) (int64, error) {
	before, after, err := accessChange(s, live, body)
	if err != nil {
		return 0, err
	}
	for _, g := range before.Roles {
		if slices.Contains(after.Roles, g) {
			continue
		}
		b, err := scanBinding(tx.QueryRowContext(tx.ctx, bindingSelect+` WHERE b.subject_kind = $1 AND b.subject_id = $2 AND b.role = $3 AND b.scope = $4`,
			s.principal.kind, s.principal.id, g.Role, g.Scope))
		if err != nil {
			return 0, fmt.Errorf("find role binding: %w", err)
		}
		if err := tx.deleteBinding(b, how.details(nil)); err != nil {
			return 0, err
		}
	}
	var last int64
	for _, g := range after.Roles {
		if slices.Contains(before.Roles, g) {
			continue
		}
		if last, err = tx.insertBinding(s.principal, g, how); err != nil {
			return 0, err
		}
	}
	for _, m := range symmetricDiff(before.Members, after.Members) {
		stmt, action := `INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)`, "group.add_member"
		if slices.Contains(before.Members, m) {
			stmt, action = `DELETE FROM group_members WHERE group_id = $1 AND user_id = $2`, "group.remove_member"
		}
		uid, err := userID(tx.ctx, tx, "members", m)
		if err != nil {
			return 0, err
		}
		if _, err := tx.ExecContext(tx.ctx, stmt, s.principal.id, uid); err != nil {
			return 0, fmt.Errorf("%s: %w", action, err)
		}
		if err := tx.audit(change{action: action, resource: "group/" + s.principal.name,
			details: how.details(map[string]any{"user": m})}); err != nil {
			return 0, err
		}
	}
	return last, nil
}

// insertBinding grants a principal a role, audited, and returns the binding's id.
func (tx *Tx) insertBinding(p *principal, g gatehouse.RoleGrant, how application) (int64, error) {
	who := gatehouse.ActorFrom(tx.ctx)
	var id int64
	err := tx.QueryRowContext(tx.ctx, `INSERT INTO role_bindings (subject_kind, subject_id, role, scope, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, p.kind, p.id, g.Role, g.Scope, who.UserName, micro(tx.now)).Scan(&id)
	if isUniqueViolation(err) {
		return 0, gatehouse.Conflictf("%s %q already has role %s on %s", p.kind, p.name, g.Role, g.Scope)
	} else if err != nil {
		return 0, fmt.Errorf("insert role binding: %w", err)
	}
	b := &gatehouse.RoleBinding{ID: id, Role: g.Role, Scope: g.Scope, CreatedBy: who.UserName, CreatedAt: tx.now}
	if p.kind == "user" {
		b.User = p.name
	} else {
		b.Group = p.name
	}
	sc, _ := gatehouse.ParseScope("scope", g.Scope)
	return id, tx.audit(change{action: "rolebinding.create", resource: "rolebinding/" + strconv.FormatInt(id, 10), target: scopeTarget(sc),
		after: b, details: nonEmptyAny(how.details(nil))})
}

// votes lists where a person votes under policies now: each voting role they hold, directly
// or through a group, with the policy it counts under ("image-approver on
// project:shop/env:prod under prod-gate").
func votes(ctx context.Context, q querier, userID int64) ([]string, error) {
	grants, err := queryAll(ctx, q, func(r scanner) (gatehouse.RoleGrant, error) {
		var g gatehouse.RoleGrant
		return g, r.Scan(&g.Role, &g.Scope)
	}, `SELECT DISTINCT role, scope FROM role_bindings WHERE (subject_kind = 'user' AND subject_id = $1)
		OR (subject_kind = 'group' AND subject_id IN (SELECT group_id FROM group_members WHERE user_id = $1)) ORDER BY role, scope`, userID)
	if err != nil {
		return nil, fmt.Errorf("read roles: %w", err)
	}
	policies, err := allPolicies(ctx, q)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, g := range grants {
		for _, p := range policies {
			if counts, lockout := g.CountsUnder(p); counts {
				rule := p.Name
				if lockout {
					rule += "'s lock-out rule"
				}
				out = append(out, fmt.Sprintf("%s under %s", g, rule))
			}
		}
	}
	return out, nil
}
