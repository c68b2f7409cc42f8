package sqlstore

import (
	"context"
	"fmt"

	"github.com/gatehousehq/gatehouse"
)

type overrideRow struct {
	env, values string
}

// Overrides implements gatehouse.AppService. A caller sees the overrides of the environments
// it may see.
func (s *AppService) Overrides(ctx context.Context, project, app string) (map[string]string, error) {
	who, a, err := visibleApp(ctx, s.db.r, project, app)
	if err != nil {
		return nil, err
	}
	rows, err := queryAll(ctx, s.db.r, func(r scanner) (overrideRow, error) {
		var o overrideRow
		return o, r.Scan(&o.env, &o.values)
	}, `SELECT e.name, c.body FROM config_items c JOIN environments e ON e.id = c.environment_id
		WHERE c.app_id = $1 AND c.kind = 'values'`, a.ID)
	if err != nil {
		return nil, fmt.Errorf("read overrides: %w", err)
	}
	out := map[string]string{}
	for _, r := range rows {
		if who.CanSee(gatehouse.Target{Project: project, App: app, Env: r.env}) {
			out[r.env] = viewContent(gatehouse.ConfigValues, r.values)
		}
	}
	return out, nil
}

// SetOverrides implements gatehouse.AppService: the environment's values resource, set
// directly (refused on a protected environment).
func (s *AppService) SetOverrides(ctx context.Context, project, app, env, values string) (*gatehouse.App, error) {
	var after *gatehouse.App
	err := s.db.write(ctx, func(tx *Tx) error {
		who, l, err := resolveConfig(ctx, tx, gatehouse.ConfigRef{Project: project, App: app, Environment: env, Kind: gatehouse.ConfigValues})
		if err != nil {
			return err
		}
		if err := who.Require(gatehouse.ActionManage, l.ref.Target()); err != nil {
			return err
		}
		if err := tx.setConfig(l, values, ""); err != nil {
			return err
		}
		fresh, err := findApp(ctx, tx, project, app)
		after = masked(fresh)
		return err
	})
	return after, err
}
