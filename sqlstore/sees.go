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

// place is where a listed row is, for the SQL forms of access decisions: the columns naming
// its project, app and environment. A NULL app or environment is a row of the whole project
// (or app), read as Scope.Overlaps reads such targets. A scoped place has, instead, a column
// holding a scope's text (a policy's or window's): the row is in the scope's project, or in
// every project for a scope of all (see visibleScope).
type place struct {
	project, app, env string
	scope             string
}

// at is the place of a row whose project, app and environment are the columns.
func at(project, app, env string) place { return place{project: project, app: app, env: env} }

// anywhere is the place of a row of no one project: every grant holding the action reaches it.
var anywhere = place{}

// scopedAt is the place of a row with a scope, whose text is the column.
func scopedAt(scope string) place { return place{scope: scope} }

// seesSQL is the SQL form of Actor.CanSee over a row at a place. It is true exactly where one
// of the grants allows viewing; with none, it is false.
func seesSQL(grants []gatehouse.Grant, args *sqlArgs, at place) string {
	return allowsSQL(grants, gatehouse.ActionView, args, at)
}

// allowsSQL is the SQL form of "one of the grants allows the action on the row's target" over
// a place (see place for how it reads NULL columns and scopes).
func allowsSQL(grants []gatehouse.Grant, action gatehouse.Action, args *sqlArgs, at place) string {
	var alts []string
	for _, g := range grants {
		if !g.Role.Allows(action) {
			continue
		}
		conds := []string{"1 = 1"}
		switch {
		case at == anywhere:
		case at.scope != "":
			if g.Scope.Project != "*" {
				// Scope texts are canonical, and names never hold LIKE's wildcards.
				conds = append(conds, "("+at.scope+" = '*' OR "+at.scope+" LIKE 'project:*/%' OR "+at.scope+" = "+args.add("project:"+g.Scope.Project)+
					" OR "+at.scope+" LIKE "+args.add("project:"+g.Scope.Project+"/%")+")")
			}
		default:
			if g.Scope.Project != "*" {
				conds = append(conds, at.project+" = "+args.add(g.Scope.Project))
			}
			for _, dim := range []struct{ col, name string }{{at.app, g.Scope.App}, {at.env, g.Scope.Env}} {
				if dim.name != "" && dim.name != "*" {
					conds = append(conds, "("+dim.col+" IS NULL OR "+dim.col+" = "+args.add(dim.name)+")")
				}
			}
		}
		alts = append(alts, "("+strings.Join(conds, " AND ")+")")
	}
	if len(alts) == 0 {
		return "1 = 0"
	}
	return "(" + strings.Join(alts, " OR ") + ")"
}

// mayVoteSQL is the SQL form of what a voter needs before any judge's rules: the caller
// casts votes at all (see Actor.CastsVotes) and holds one of the approve actions on the row's
// target.
func mayVoteSQL(who *gatehouse.Actor, actions []gatehouse.Action, args *sqlArgs, at place) string {
	if !who.CastsVotes() {
		return "1 = 0"
	}
	return allowsAnySQL(who.Grants, actions, args, at)
}

// allowsAnySQL is allowsSQL for any one of the actions.
func allowsAnySQL(grants []gatehouse.Grant, actions []gatehouse.Action, args *sqlArgs, at place) string {
	var alts []string
	for _, a := range actions {
		alts = append(alts, allowsSQL(grants, a, args, at))
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
