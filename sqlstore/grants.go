package sqlstore

import (
	"context"
	"fmt"

	"github.com/gatehousehq/gatehouse"
)

// loadActor builds the actor of a user: its groups and the grants of its own and its groups'
// role bindings, read now, so a revoked binding stops working at the next request.
func loadActor(ctx context.Context, q querier, u *gatehouse.User, via gatehouse.AuthMethod, tokenID int64) (*gatehouse.Actor, error) {
	groups, err := queryAll(ctx, q, scanString, `SELECT g.name FROM user_groups g JOIN group_members m ON m.group_id = g.id
		WHERE m.user_id = $1 ORDER BY g.name`, u.ID)
	if err != nil {
		return nil, fmt.Errorf("load groups: %w", err)
	}
	bindings, err := queryAll(ctx, q, scanGrant, `SELECT b.role, b.scope FROM role_bindings b WHERE `+boundTo("b", "$1"), u.ID)
	if err != nil {
		return nil, fmt.Errorf("load role bindings: %w", err)
	}
	a := &gatehouse.Actor{UserID: u.ID, UserName: u.Name, Kind: u.Kind, Via: via, TokenID: tokenID, Groups: groups, Grants: bindings}
	if u.Kind == gatehouse.HumanUser {
		a.Person = u.Name // a service account's person is its token's maker (see AuthenticateToken)
	}
	return a, nil
}

func scanGrant(row scanner) (gatehouse.Grant, error) {
	var g gatehouse.Grant
	var scope string
	if err := row.Scan(&g.Role, &scope); err != nil {
		return g, err
	}
	sc, err := gatehouse.ParseScope("scope", scope)
	if err != nil {
		return g, fmt.Errorf("stored scope %q: %w", scope, err)
	}
	g.Scope = sc
	return g, nil
}
