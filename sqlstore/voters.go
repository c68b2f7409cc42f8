package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

// loadVoters reads what a judge's rules need of each named person, as of now, in three
// queries whatever their number: eligible means a person, enabled, holding the judge's
// approve action (approve-image, approve-config, or manage for the lock-out rule) on its
// target. Names of no user come back ineligible.
func loadVoters(ctx context.Context, q querier, names []string, j gatehouse.Judge) (map[string]gatehouse.Voter, error) {
	out := map[string]gatehouse.Voter{}
	if len(names) == 0 {
		return out, nil
	}
	action := j.Policy.Kind.ApproveAction()
	type person struct {
		id       int64
		name     string
		email    string
		kind     gatehouse.UserKind
		disabled bool
		groups   []string
	}
	users, err := queryAll(ctx, q, func(r scanner) (*person, error) {
		var p person
		return &p, r.Scan(&p.id, &p.name, &p.email, &p.kind, &p.disabled)
	}, `SELECT id, name, email, kind, disabled FROM users WHERE name IN (`+placeholders(1, len(names))+`)`, anys(names)...)
	if err != nil {
		return nil, fmt.Errorf("voters: %w", err)
	}
	byID := map[int64]*person{}
	var ids []any
	for _, u := range users {
		byID[u.id] = u
		ids = append(ids, u.id)
	}
	grants := map[*person][]gatehouse.Grant{}
	if len(ids) > 0 {
		type membership struct {
			user, group int64
			name        string
		}
		ms, err := queryAll(ctx, q, func(r scanner) (membership, error) {
			var m membership
			return m, r.Scan(&m.user, &m.group, &m.name)
		}, `SELECT m.user_id, g.id, g.name FROM group_members m JOIN user_groups g ON g.id = m.group_id
			WHERE m.user_id IN (`+placeholders(1, len(ids))+`) ORDER BY g.name`, ids...)
		if err != nil {
			return nil, fmt.Errorf("voter groups: %w", err)
		}
		byGroup := map[int64][]*person{}
		for _, m := range ms {
			u := byID[m.user]
			u.groups = append(u.groups, m.name)
			byGroup[m.group] = append(byGroup[m.group], u)
		}
		type binding struct {
			grant   gatehouse.Grant
			kind    string
			subject int64
		}
		roles := gatehouse.RolesAllowing(action)
		bs, err := queryAll(ctx, q, func(r scanner) (binding, error) {
			var b binding
			var scope string
			if err := r.Scan(&b.grant.Role, &scope, &b.kind, &b.subject); err != nil {
				return b, err
			}
			sc, err := gatehouse.ParseScope("scope", scope)
			b.grant.Scope = sc
			return b, err
		}, `SELECT role, scope, subject_kind, subject_id FROM role_bindings WHERE role IN (`+placeholders(1, len(roles))+`)`, anys(roles)...)
		if err != nil {
			return nil, fmt.Errorf("voter roles: %w", err)
		}
		for _, b := range bs {
			switch {
			case b.kind == "user" && byID[b.subject] != nil:
				grants[byID[b.subject]] = append(grants[byID[b.subject]], b.grant)
			case b.kind == "group":
				for _, u := range byGroup[b.subject] {
					grants[u] = append(grants[u], b.grant)
				}
			}
		}
	}
	for _, u := range users {
		out[u.name] = gatehouse.Voter{Name: u.name, Email: u.email, Groups: u.groups,
			Eligible: u.kind == gatehouse.HumanUser && !u.disabled && gatehouse.Can(grants[u], action, j.Target)}
	}
	for _, n := range names {
		if _, ok := out[n]; !ok {
			out[n] = gatehouse.Voter{Name: n}
		}
	}
	return out, nil
}

// votersOf reads, per judge of the standing, what its rules need of the named people.
func votersOf(ctx context.Context, q querier, st gatehouse.Standing, names []string) ([]map[string]gatehouse.Voter, error) {
	out := make([]map[string]gatehouse.Voter, len(st.Judges))
	for i, j := range st.Judges {
		// Judges that count the same people in the same place share one read.
		if k := slices.IndexFunc(st.Judges[:i], func(o gatehouse.Judge) bool {
			return o.Target == j.Target && o.Policy.Kind.ApproveAction() == j.Policy.Kind.ApproveAction()
		}); k >= 0 {
			out[i] = out[k]
			continue
		}
		vs, err := loadVoters(ctx, q, names, j)
		if err != nil {
			return nil, err
		}
		out[i] = vs
	}
	return out, nil
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

// callerVoters keeps what judges need of the caller, per place and approve action, so a list
// that asks for every ballot whether the caller may vote reads each place once.
type callerVoters map[struct {
	t gatehouse.Target
	a gatehouse.Action
}]gatehouse.Voter

// of returns the caller as each judge of the standing sees them, in votersOf's form.
func (c callerVoters) of(ctx context.Context, q querier, st gatehouse.Standing) ([]map[string]gatehouse.Voter, error) {
	name := gatehouse.ActorFrom(ctx).UserName
	out := make([]map[string]gatehouse.Voter, len(st.Judges))
	for i, j := range st.Judges {
		k := struct {
			t gatehouse.Target
			a gatehouse.Action
		}{j.Target, j.Policy.Kind.ApproveAction()}
		v, ok := c[k]
		if !ok {
			vs, err := loadVoters(ctx, q, []string{name}, j)
			if err != nil {
				return nil, err
			}
			v = vs[name]
			c[k] = v
		}
		out[i] = map[string]gatehouse.Voter{name: v}
	}
	return out, nil
}
