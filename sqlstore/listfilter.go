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
	q, args := base+` WHERE 1 = 1`, []any{}
	add := func(cond string, v any) {
		args = append(args, v)
		q += fmt.Sprintf(" AND "+cond, len(args))
	}
	if f.project != "" {
		add("p.name = $%d", f.project)
	}
	if f.app != "" {
		add("ap.name = $%d", f.app)
	}
	if f.env != "" {
		add("e.name = $%d", f.env)
	}
	if f.state != "" {
		add(alias+".state = $%d", f.state)
	}
	if f.kind != "" {
		add(alias+".kind = $%d", f.kind)
	}
	if f.forMe {
		q += ` AND ` + alias + `.state IN (` + openStates + `)`
	}
	args = append(args, f.limit)
	q += fmt.Sprintf(` ORDER BY %s.id DESC LIMIT $%d`, alias, len(args))
	return q, args, nil
}
