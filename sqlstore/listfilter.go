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
	page                     keyset
	// where adds conditions of the caller (visibility, who may vote) over the same
	// arguments, so they hold before LIMIT.
	where []func(args *sqlArgs) string
}

// filterOf reads a list's filter fields into a listFilter.
func filterOf[S ~string](project, app, env string, state S, valid []S, forMe bool, limit int, cursor string) (listFilter, error) {
	f := listFilter{project: project, app: app, env: env, state: string(state), forMe: forMe}
	for _, s := range valid {
		f.states = append(f.states, string(s))
	}
	if f.state != "" && !slices.Contains(f.states, f.state) {
		return f, gatehouse.Invalidf("state", "%q is not a state: expected one of %s", f.state, strings.Join(f.states, ", "))
	}
	var err error
	f.page, err = keysetOf(limit, 100, cursor)
	return f, err
}

// query appends the filter to base (a SELECT over p, ap and e aliases; alias is the listed
// table's) and pages it (see keyset.sql); forMe keeps the states open lists a voter acts on.
func (f listFilter) query(base, alias, openStates string) (string, []any) {
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
	return q + f.page.sql(alias, &args), args
}

// keyset is one page of a list that is ordered by id, newest first: the rows older than the
// row with id after (0: from the newest), at most limit of them. Paging by key, not by
// offset, costs the same on every page and never repeats or skips a row that others added
// meanwhile.
type keyset struct {
	after int64
	limit int
}

// keysetOf reads a page's limit (def when 0; at most 1000) and cursor.
func keysetOf(limit, def int, cursor string) (keyset, error) {
	if limit <= 0 {
		limit = def
	}
	if limit > 1000 {
		return keyset{}, gatehouse.Invalidf("limit", "%d is too large: expected at most 1000", limit)
	}
	after, err := gatehouse.ParseCursor("cursor", cursor)
	return keyset{after: after, limit: limit}, err
}

// sql is the page's condition and order over the listed table's alias, to append to a query
// whose WHERE clause it ends. It reads one row more than the page holds: whether that row
// exists tells whether a next page does.
func (k keyset) sql(alias string, args *sqlArgs) string {
	var q string
	if k.after > 0 {
		q = ` AND ` + alias + `.id < ` + args.add(k.after)
	}
	return q + fmt.Sprintf(` ORDER BY %s.id DESC LIMIT %s`, alias, args.add(k.limit+1))
}

// cut keeps the rows of the page among those its query read, and returns the cursor of the
// next page ("" when there is none). The cursor follows the last row read, not the last one
// listed, so rows the list leaves out after reading are never read again.
func cut[T any](k keyset, rows []T, id func(T) int64) ([]T, string) {
	if len(rows) <= k.limit {
		return rows, ""
	}
	rows = rows[:k.limit]
	return rows, gatehouse.PageCursor(id(rows[len(rows)-1]))
}
