package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

// sqlArgs collects the arguments of a query built in pieces.
type sqlArgs []any

// add appends v and returns its placeholder.
func (a *sqlArgs) add(v any) string {
	*a = append(*a, v)
	return fmt.Sprintf("$%d", len(*a))
}

// seesSQL is the SQL form of Actor.CanSee over a row whose project, app and environment
// names are the given columns (app and environment may be NULL: a row of the project, or of
// an app, seen as Scope.Overlaps sees such targets). It is true exactly where one of the
// grants allows viewing; with none, it is false.
func seesSQL(grants []gatehouse.Grant, args *sqlArgs, project, app, env string) string {
	return allowsSQL(grants, gatehouse.ActionView, args, project, app, env)
}

// allowsSQL is the SQL form of "one of the grants allows the action on the row's target",
// over the same columns as seesSQL (and, where app or environment is NULL, read as it reads
// them).
func allowsSQL(grants []gatehouse.Grant, action gatehouse.Action, args *sqlArgs, project, app, env string) string {
	var alts []string
	for _, g := range grants {
		if !g.Role.Allows(action) {
			continue
		}
		conds := []string{"1 = 1"}
		if g.Scope.Project != "*" {
			conds = append(conds, project+" = "+args.add(g.Scope.Project))
		}
		for _, dim := range []struct{ col, name string }{{app, g.Scope.App}, {env, g.Scope.Env}} {
			if dim.name != "" && dim.name != "*" {
				conds = append(conds, "("+dim.col+" IS NULL OR "+dim.col+" = "+args.add(dim.name)+")")
			}
		}
		alts = append(alts, "("+strings.Join(conds, " AND ")+")")
	}
	if len(alts) == 0 {
		return "1 = 0"
	}
	return "(" + strings.Join(alts, " OR ") + ")"
}

// eachRow runs a query and hands each row to fn, without holding the rows in memory.
func eachRow(ctx context.Context, q querier, query string, args sqlArgs, fn func(scanner) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
