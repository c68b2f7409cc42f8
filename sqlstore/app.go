package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gatehousehq/gatehouse"
)

// AppService implements gatehouse.AppService.
type AppService struct{ db *DB }

// NewAppService returns the app service of db.
func NewAppService(db *DB) *AppService { return &AppService{db: db} }

const appSelect = `SELECT a.id, p.name, a.name, a.description, a.chart, a.values_yaml, a.hooks, a.config_revision, a.created_at, a.updated_at
	FROM apps a JOIN projects p ON p.id = a.project_id`

func scanApp(row scanner) (*gatehouse.App, error) {
	var a gatehouse.App
	var chart, hooks string
	var created, updated int64
	if err := row.Scan(&a.ID, &a.Project, &a.Name, &a.Description, &chart, &a.Values, &hooks, &a.ConfigRevision, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(chart), &a.Chart); err != nil {
		return nil, fmt.Errorf("app %s chart: %w", a.Name, err)
	}
	if err := json.Unmarshal([]byte(hooks), &a.Hooks); err != nil {
		return nil, fmt.Errorf("app %s hooks: %w", a.Name, err)
	}
	a.CreatedAt, a.UpdatedAt = fromMicro(created), fromMicro(updated)
	return &a, nil
}

func findApp(ctx context.Context, q querier, project, name string) (*gatehouse.App, error) {
	a, err := scanApp(q.QueryRowContext(ctx, appSelect+` WHERE p.name = $1 AND a.name = $2`, project, name))
	if err != nil {
		return nil, notFoundOr(err, "app %q not found in project %q", name, project)
	}
	return a, nil
}

// visibleApp reads an app the caller may see; one it may not see is "not found".
func visibleApp(ctx context.Context, q querier, project, name string) (*gatehouse.Actor, *gatehouse.App, error) {
	who, err := actor(ctx)
	if err != nil {
		return nil, nil, err
	}
	app, err := findApp(ctx, q, project, name)
	if err != nil {
		return nil, nil, err
	}
	if !who.CanSee(app.Target()) {
		return nil, nil, gatehouse.NotFoundf("app %q not found in project %q", name, project)
	}
	return who, app, nil
}

func appResource(a *gatehouse.App) string { return "app/" + a.Project + "/" + a.Name }

// masked returns a copy of the app fit to show or audit: secret values masked.
func masked(a *gatehouse.App) *gatehouse.App {
	if a == nil {
		return nil
	}
	c := *a
	c.Values = gatehouse.MaskValues(a.Values)
	return &c
}

// CreateApp implements gatehouse.AppService.
func (s *AppService) CreateApp(ctx context.Context, project string, in gatehouse.AppCreate) (*gatehouse.App, error) {
	var app *gatehouse.App
	err := s.db.write(ctx, func(tx *Tx) error {
		who, p, err := visibleProject(ctx, tx, project)
		if err != nil {
			return err
		}
		if err := who.Require(gatehouse.ActionManage, gatehouse.Target{Project: project}); err != nil {
			return err
		}
		if err := in.Validate(); err != nil {
			return err
		}
		if in.Chart, err = tx.db.pinChart(ctx, "chart", in.Chart); err != nil {
			return err
		}
		chart, hooks, err := encodeChartHooks(in.Chart, in.Hooks)
		if err != nil {
			return err
		}
		if tx.db.validate != nil {
			v, _ := gatehouse.ParseValues("values", in.Values)
			if err := tx.db.validate(ctx, in.Chart, v); err != nil {
				return err
			}
		}
		app = &gatehouse.App{Project: project, Name: in.Name, Description: in.Description, Chart: in.Chart,
			Values: in.Values, Hooks: in.Hooks, ConfigRevision: 1, CreatedAt: tx.now, UpdatedAt: tx.now}
		err = tx.QueryRowContext(ctx, `INSERT INTO apps (project_id, name, description, chart, values_yaml, hooks, config_revision, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7) RETURNING id`, p.ID, app.Name, app.Description, chart, app.Values, hooks, micro(tx.now)).Scan(&app.ID)
		if isUniqueViolation(err) {
			return gatehouse.Conflictf("app %q already exists in project %q", in.Name, project)
		} else if err != nil {
			return fmt.Errorf("insert app: %w", err)
		}
		return tx.audit(change{action: "app.create", resource: appResource(app), target: app.Target(), after: masked(app)})
	})
	return masked(app), err
}

// App implements gatehouse.AppService.
func (s *AppService) App(ctx context.Context, project, name string) (*gatehouse.App, error) {
	_, app, err := visibleApp(ctx, s.db.r, project, name)
	return masked(app), err
}

// Apps implements gatehouse.AppService.
func (s *AppService) Apps(ctx context.Context, project string) ([]*gatehouse.App, error) {
	who, _, err := visibleProject(ctx, s.db.r, project)
	if err != nil {
		return nil, err
	}
	all, err := queryAll(ctx, s.db.r, scanApp, appSelect+` WHERE p.name = $1 ORDER BY a.name`, project)
	if err != nil {
		return nil, fmt.Errorf("list apps: %w", err)
	}
	out := keep(all, func(a *gatehouse.App) bool { return who.CanSee(a.Target()) })
	for _, a := range out {
		a.Values = ""
	}
	return out, nil
}

// UpdateApp implements gatehouse.AppService. The chart and hooks are gated settings where
// policies reach the app (see chartKind, hooksKind), as the base values are: there they
// change through drafts, and the update is refused whole.
func (s *AppService) UpdateApp(ctx context.Context, project, name string, in gatehouse.AppUpdate) (*gatehouse.App, error) {
	var after *gatehouse.App
	err := s.db.write(ctx, func(tx *Tx) error {
		who, before, err := visibleApp(ctx, tx, project, name)
		if err != nil {
			return err
		}
		if err := who.Require(gatehouse.ActionManage, before.Target()); err != nil {
			return err
		}
		if err := in.Validate(); err != nil {
			return err
		}
		settings := []struct {
			kind gatehouse.DraftKind
			set  bool
			v    any
		}{{gatehouse.DraftChart, in.Chart != nil, in.Chart}, {gatehouse.DraftHooks, in.Hooks != nil, in.Hooks}}
		for _, st := range settings {
			if !st.set {
				continue
			}
			sub, err := resolveSubject(ctx, tx, gatehouse.DraftRef{Kind: st.kind, Project: project, App: name})
			if err != nil {
				return err
			}
			if _, err := tx.changeDirectly(sub, renderSetting(st.v), ""); err != nil {
				return err
			}
		}
		if in.Values != nil {
			l := liveRef{ref: gatehouse.ConfigRef{Project: project, App: name, Kind: gatehouse.ConfigValues}, app: before}
			if err := tx.setConfig(l, *in.Values, ""); err != nil {
				return err
			}
		}
		app, err := findApp(ctx, tx, project, name)
		if err != nil {
			return err
		}
		if in.Description != nil && *in.Description != app.Description {
			was := *app
			app.Description, app.UpdatedAt = *in.Description, tx.now
			if _, err := tx.ExecContext(ctx, `UPDATE apps SET description = $1, updated_at = $2 WHERE id = $3`, app.Description, micro(tx.now), app.ID); err != nil {
				return fmt.Errorf("update app: %w", err)
			}
			if err := tx.audit(change{action: "app.update", resource: appResource(app), target: app.Target(), before: masked(&was), after: masked(app)}); err != nil {
				return err
			}
		}
		after = app
		return nil
	})
	return masked(after), err
}

// DeleteApp implements gatehouse.AppService.
func (s *AppService) DeleteApp(ctx context.Context, project, name string) error {
	return s.db.write(ctx, func(tx *Tx) error {
		who, app, err := visibleApp(ctx, tx, project, name)
		if err != nil {
			return err
		}
		if err := who.Require(gatehouse.ActionManage, gatehouse.Target{Project: project}); err != nil {
			return err
		}
		var deployments int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM deployments WHERE app_id = $1`, app.ID).Scan(&deployments); err != nil {
			return fmt.Errorf("count deployments: %w", err)
		}
		if deployments > 0 {
			return gatehouse.Conflictf("app %q has %d deployments: apps with a deployment history are kept", name, deployments)
		}
		if err := tx.dropBallots(`app_id = $1`, app.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM apps WHERE id = $1`, app.ID); err != nil {
			return fmt.Errorf("delete app: %w", err)
		}
		return tx.audit(change{action: "app.delete", resource: appResource(app), target: app.Target(), before: masked(app)})
	})
}

func encodeChartHooks(c gatehouse.Chart, h gatehouse.Hooks) (string, string, error) {
	chart, err := json.Marshal(c)
	if err != nil {
		return "", "", fmt.Errorf("encode chart: %w", err)
	}
	hooks, err := json.Marshal(h)
	if err != nil {
		return "", "", fmt.Errorf("encode hooks: %w", err)
	}
	return string(chart), string(hooks), nil
}
