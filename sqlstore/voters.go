package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

// person is what judging needs of one user: who they are, their groups, and the grants of
// approver roles they hold (directly or through a group).
type person struct {
	name, email string
	kind        gatehouse.UserKind
	disabled    bool
	groups      []string
	grants      []gatehouse.Grant
}

// roster is people read together, by name, for judges whose approve actions it was read for.
type roster map[string]*person

// loadRoster reads what judges need of the named people as of now, in two queries whatever
// the number of people and judges: the users with their groups, and their bindings of the
// roles that allow one of the actions (approve-image, approve-config, or manage for the
// lock-out rule).
func loadRoster(ctx context.Context, q querier, names []string, actions []gatehouse.Action) (roster, error) {
	out := roster{}
	if len(names) == 0 {
		return out, nil
	}
	byID, byGroup := map[int64]*person{}, map[int64][]*person{}
	err := eachRow(ctx, q, `SELECT u.id, u.name, u.email, u.kind, u.disabled, g.id, g.name FROM users u
		LEFT JOIN group_members m ON m.user_id = u.id LEFT JOIN user_groups g ON g.id = m.group_id
		WHERE u.name IN (`+placeholders(1, len(names))+`) ORDER BY u.name, g.name`, anys(names), func(r scanner) error {
		var p person
		var id int64
		var group sql.NullInt64
		var groupName sql.NullString
		if err := r.Scan(&id, &p.name, &p.email, &p.kind, &p.disabled, &group, &groupName); err != nil {
			return err
		}
		if byID[id] == nil {
			byID[id], out[p.name] = &p, &p
		}
		if group.Valid {
			u := byID[id]
			u.groups = append(u.groups, groupName.String)
			byGroup[group.Int64] = append(byGroup[group.Int64], u)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("voters: %w", err)
	}
	var roles []gatehouse.Role
	for _, a := range actions {
		for _, r := range gatehouse.RolesAllowing(a) {
			if !slices.Contains(roles, r) {
				roles = append(roles, r)
			}
		}
	}
	if len(byID) == 0 || len(roles) == 0 {
		return out, nil
	}
	args := anys(roles)
	subjects := `(subject_kind = 'user' AND subject_id IN (` + placeholders(len(args)+1, len(byID)) + `))`
	for id := range byID {
		args = append(args, id)
	}
	if len(byGroup) > 0 {
		subjects = `(` + subjects + ` OR (subject_kind = 'group' AND subject_id IN (` + placeholders(len(args)+1, len(byGroup)) + `)))`
		for id := range byGroup {
			args = append(args, id)
		}
	}
	err = eachRow(ctx, q, `SELECT role, scope, subject_kind, subject_id FROM role_bindings WHERE role IN (`+placeholders(1, len(roles))+`)
		AND `+subjects, args, func(r scanner) error {
		var g gatehouse.Grant
		var scope, kind string
		var subject int64
		if err := r.Scan(&g.Role, &scope, &kind, &subject); err != nil {
			return err
		}
		sc, err := gatehouse.ParseScope("scope", scope)
		if err != nil {
			return err
		}
		g.Scope = sc
		holders := byGroup[subject]
		if kind == "user" {
			holders = []*person{byID[subject]}
		}
		for _, p := range holders {
			p.grants = append(p.grants, g)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("voter roles: %w", err)
	}
	return out, nil
}

// voter is what judge j's rules need of the named person: eligible means a person, enabled,
// holding the judge's approve action on its target. A name of no user is ineligible.
func (r roster) voter(name string, j gatehouse.Judge) gatehouse.Voter {
	p := r[name]
	if p == nil {
		return gatehouse.Voter{Name: name}
	}
	return gatehouse.Voter{Name: p.name, Email: p.email, Groups: p.groups,
		Eligible: p.kind == gatehouse.HumanUser && !p.disabled && gatehouse.Can(p.grants, j.Policy.Kind.ApproveAction(), j.Target)}
}

// counts reports whether some judge of the standing counts the named person's vote (by role
// and place; separation of duties aside).
func (r roster) counts(name string, st gatehouse.Standing) bool {
	return slices.ContainsFunc(st.Judges, func(j gatehouse.Judge) bool { return r.voter(name, j).Eligible })
}

// of is, per judge of the standing, what its rules need of the named people.
func (r roster) of(st gatehouse.Standing, names []string) []map[string]gatehouse.Voter {
	out := make([]map[string]gatehouse.Voter, len(st.Judges))
	for i, j := range st.Judges {
		out[i] = map[string]gatehouse.Voter{}
		for _, n := range names {
			out[i][n] = r.voter(n, j)
		}
	}
	return out
}

// approveActions are the actions whose holders the standings' judges count.
func approveActions(sts ...gatehouse.Standing) []gatehouse.Action {
	var out []gatehouse.Action
	for _, st := range sts {
		for _, j := range st.Judges {
			if a := j.Policy.Kind.ApproveAction(); !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	return out
}

// votersOf reads, per judge of the standing, what its rules need of the named people.
func votersOf(ctx context.Context, q querier, st gatehouse.Standing, names []string) ([]map[string]gatehouse.Voter, error) {
	r, err := loadRoster(ctx, q, names, approveActions(st))
	if err != nil {
		return nil, err
	}
	return r.of(st, names), nil
}

// candidates lists every person who holds a role that approves under some judge of the
// standing, by name.
func candidates(ctx context.Context, q querier, st gatehouse.Standing) ([]string, error) {
	var roles []any
	for _, j := range st.Judges {
		for _, r := range gatehouse.RolesAllowing(j.Policy.Kind.ApproveAction()) {
			if !slices.Contains(roles, any(r)) {
				roles = append(roles, r)
			}
		}
	}
	if len(roles) == 0 {
		return nil, nil
	}
	in := placeholders(1, len(roles))
	names, err := queryAll(ctx, q, scanString, `SELECT DISTINCT u.name FROM users u WHERE u.kind = 'human' AND NOT u.disabled AND u.id IN (
		SELECT subject_id FROM role_bindings WHERE subject_kind = 'user' AND role IN (`+in+`)
		UNION SELECT m.user_id FROM group_members m JOIN role_bindings b ON b.subject_kind = 'group' AND b.subject_id = m.group_id
			AND b.role IN (`+in+`)) ORDER BY u.name`, roles...)
	if err != nil {
		return nil, fmt.Errorf("approvers: %w", err)
	}
	return names, nil
}

// eligible returns the people who may count under some judge of the standing now.
func eligible(ctx context.Context, q querier, st gatehouse.Standing) ([]string, error) {
	names, err := candidates(ctx, q, st)
	if err != nil {
		return nil, err
	}
	vs, err := votersOf(ctx, q, st, names)
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, n := range names {
		per := make([]gatehouse.Voter, len(vs))
		for i := range vs {
			per[i] = vs[i][n]
		}
		if ok, _ := st.MayVote(per); ok {
			out = append(out, n)
		}
	}
	return out, nil
}

// satisfiable reports whether the standing could still be met if everyone eligible approved
// (see gatehouse.Standing.Satisfiable).
func satisfiable(ctx context.Context, q querier, st gatehouse.Standing) (bool, error) {
	names, err := candidates(ctx, q, st)
	if err != nil {
		return false, err
	}
	vs, err := votersOf(ctx, q, st, names)
	if err != nil {
		return false, err
	}
	for i := range vs {
		kept := map[string]gatehouse.Voter{}
		for n, v := range vs[i] {
			if v.Eligible {
				kept[n] = v
			}
		}
		vs[i] = kept
	}
	return st.Satisfiable(vs), nil
}

// recipients checks the chosen people to notify may approve under the standing now (a name
// that may not, or names nobody, gets the same answer, so the list probes no names), or picks
// everyone who may.
func (tx *Tx) recipients(chosen []string, st gatehouse.Standing) ([]string, error) {
	may, err := eligible(tx.ctx, tx, st)
	if err != nil || len(chosen) == 0 {
		return may, err
	}
	for _, n := range chosen {
		if !slices.Contains(may, n) {
			return nil, gatehouse.Invalidf("notify", "%q cannot approve this: expected people who may approve it (leave notify empty for all of them)", n)
		}
	}
	return slices.Compact(slices.Sorted(slices.Values(chosen))), nil
}

// placeholders returns "$from, $from+1, …" for n parameters.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", from+i)
	}
	return b.String()
}

func anys[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}
