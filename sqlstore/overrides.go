package sqlstore

import (
	"context"
	"fmt"

	"github.com/gatehousehq/gatehouse"
)

type overrideRow struct {
	env, values string
}

func readOverrides(ctx context.Context, q querier, appID int64) (map[string]string, error) {
	rows, err := queryAll(ctx, q, func(r scanner) (overrideRow, error) {
		var o overrideRow
		return o, r.Scan(&o.env, &o.values)
	}, `SELECT e.name, o.values_yaml FROM app_overrides o JOIN environments e ON e.id = o.environment_id WHERE o.app_id = $1`, appID)
	if err != nil {
		return nil, fmt.Errorf("read overrides: %w", err)
	}
	out := map[string]string{}
	for _, r := range rows {
		out[r.env] = r.values
	}
	return out, nil
}

// Overrides implements gatehouse.AppService. A caller sees the overrides of the environments
// it may see.
func (s *AppService) Overrides(ctx context.Context, project, app string) (map[string]string, error) {
	who, a, err := visibleApp(ctx, s.db.r, project, app)
	if err != nil {
		return nil, err
	}
	all, err := readOverrides(ctx, s.db.r, a.ID)
	if err != nil {
		return nil, err
	}
	for env, v := range all {
		if !who.CanSee(gatehouse.Target{Project: project, App: app, Env: env}) {
			delete(all, env)
			continue
		}
		all[env] = gatehouse.MaskValues(v)
	}
	return all, nil
}

// SetOverrides implements gatehouse.AppService.
func (s *AppService) SetOverrides(ctx context.Context, project, app, env, values string) (*gatehouse.App, error) {
	var after *gatehouse.App
	err := s.db.write(ctx, func(tx *Tx) error {
		who, a, err := visibleApp(ctx, tx, project, app)
		if err != nil {
			return err
		}
		e, err := findEnvironment(ctx, tx, project, env)
		if err != nil {
			return err
		}
		target := gatehouse.Target{Project: project, App: app, Env: env}
		if err := who.Require(gatehouse.ActionManage, target); err != nil {
			return err
		}
		if err := gatehouse.ValidateValues("values", values); err != nil {
			return err
		}
		before, err := readOverrides(ctx, tx, a.ID)
		if err != nil {
			return err
		}
		if before[env] == values {
			after = masked(a)
			return nil
		}
		if values == "" {
			_, err = tx.ExecContext(ctx, `DELETE FROM app_overrides WHERE app_id = $1 AND environment_id = $2`, a.ID, e.ID)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO app_overrides (app_id, environment_id, values_yaml) VALUES ($1, $2, $3)
				ON CONFLICT (app_id, environment_id) DO UPDATE SET values_yaml = excluded.values_yaml`, a.ID, e.ID, values)
		}
		if err != nil {
			return fmt.Errorf("set overrides: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE apps SET config_revision = config_revision + 1, updated_at = $1 WHERE id = $2`, micro(tx.now), a.ID); err != nil {
			return fmt.Errorf("bump config revision: %w", err)
		}
		fresh, err := findApp(ctx, tx, project, app)
		if err != nil {
			return err
		}
		after = masked(fresh)
		return tx.audit(change{action: "app.overrides", resource: appResource(a), target: target,
			before: map[string]string{"values": gatehouse.MaskValues(before[env])},
			after:  map[string]any{"values": gatehouse.MaskValues(values), "config_revision": fresh.ConfigRevision}})
	})
	return after, err
}
