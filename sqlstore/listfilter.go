package sqlstore

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

// listFilter is what the approval-request and config-draft lists filter on.
type listFilter struct {
	project, app, env, state string
	kind                     string   // drafts only
	states                   []string // the valid states
	forMe                    bool
	limit                    int
	// where adds conditions of the caller (visibility, who may vote) over the same
	// arguments, so they hold before LIMIT.
	where []func(args *sqlArgs) string
}

// filterOf reads a list's filter fields into a listFilter.
func filterOf[S ~string](project, app, env string, state S, valid []S, forMe bool, limit int) listFilter {
	f := listFilter{project: project, app: app, env: env, state: string(state), forMe: forMe, limit: limit}
	for _, s := range valid {
		f.states = append(f.states, string(s))
	}
	return f
}

// query appends the filter to base (a SELECT over p, ap and e aliases; alias is the listed
// table's), newest first; forMe keeps the states open lists a voter acts on.
func (f listFilter) query(base, alias, openStates string) (string, []any, error) {
	if f.limit <= 0 {
		f.limit = 100
	}
	if f.limit > 1000 {
		return "", nil, gatehouse.Invalidf("limit", "%d is too large: expected at most 1000", f.limit)
	}
	if f.state != "" && !slices.Contains(f.states, f.state) {
		return "", nil, gatehouse.Invalidf("state", "%q is not a state: expected one of %s", f.state, strings.Join(f.states, ", "))
	}
	q, args := base+` WHERE 1 = 1`, sqlArgs{}
	add := func(cond string, v any) {
		q += fmt.Sprintf(" AND "+cond, args.add(v))
	}
	if f.project != "" {
		add("p.name = %s", f.project)
	}
	if f.app != "" {
		add("ap.name = %s", f.app)
	}
	if f.env != "" {
		add("e.name = %s", f.env)
	}
	if f.state != "" {
		add(alias+".state = %s", f.state)
	}
	if f.kind != "" {
		add(alias+".kind = %s", f.kind)
	}
	if f.forMe {
		q += ` AND ` + alias + `.state IN (` + openStates + `)`
	}
	for _, w := range f.where {
		q += ` AND ` + w(&args)
	}
	q += fmt.Sprintf(` ORDER BY %s.id DESC LIMIT %s`, alias, args.add(f.limit))
	return q, args, nil
}
