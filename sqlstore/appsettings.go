package sqlstore

import (
	"context"
	"fmt"

	"github.com/gatehousehq/gatehouse"
)

// ChartPinner resolves a chart to what it is now: its version (the newest, when none is
// given) and the digest of its archive. The store pins every chart it records with it, so the
// worker deploys exactly what was approved.
type ChartPinner func(ctx context.Context, c gatehouse.Chart) (gatehouse.Chart, error)

// SetChartPinner installs the chart resolver (without one, charts are recorded as given).
func (db *DB) SetChartPinner(p ChartPinner) { db.pin = p }

// pinChart checks a chart and pins it; a digest given with it must be the one it has now.
func (db *DB) pinChart(ctx context.Context, field string, c gatehouse.Chart) (gatehouse.Chart, error) {
	if c == (gatehouse.Chart{}) {
		c.Source = gatehouse.ChartBuiltin
	}
	if err := c.Validate(field); err != nil {
		return c, err
	}
	if db.pin == nil {
		return c, nil
	}
	pinned, err := db.pin(ctx, c)
	if err != nil {
		return c, gatehouse.Invalidf(field, "cannot be resolved: %v", err)
	}
	if c.Digest != "" && pinned.Digest != c.Digest {
		return c, gatehouse.Invalidf(field+".digest", "is %s, but the chart is %s now: expected its current digest, or none", c.Digest, pinned.Digest)
	}
	return pinned, nil
}

// appJudges are the judges of an app's settings (its chart, its hooks): the policies that
// protect the settings of any environment the app may deploy to.
func appJudges(ctx context.Context, q querier, project, app string) ([]gatehouse.Judge, error) {
	ts, err := appTargets(ctx, q, project, app)
	if err != nil {
		return nil, err
	}
	ps, err := settingPolicies(ctx, q, ts)
	if err != nil {
		return nil, err
	}
	return judgesOf(gatehouse.Target{Project: project, App: app}, ps), nil
}

// updateApp writes an app's chart or hooks column and audits the change.
func (tx *Tx) updateApp(s subject, column string, mutate func(*gatehouse.App), how application) error {
	before, after := *s.app, *s.app
	mutate(&after)
	after.UpdatedAt = tx.now
	chart, hooks, err := encodeChartHooks(after.Chart, after.Hooks)
	if err != nil {
		return err
	}
	value := map[string]string{"chart": chart, "hooks": hooks}[column]
	if _, err := tx.ExecContext(tx.ctx, `UPDATE apps SET `+column+` = $1, updated_at = $2 WHERE id = $3`, value, micro(tx.now), s.app.ID); err != nil {
		return fmt.Errorf("update app %s: %w", column, err)
	}
	*s.app = after
	return tx.audit(change{action: "app.update", resource: appResource(s.app), target: s.app.Target(),
		before: masked(&before), after: masked(&after), details: how.details(nil)})
}

// chartKind is the draft kind of an app's chart: pinned to a version and a digest when the
// draft is written, and checked again when it is published.
type chartKind struct{ setting }

func (chartKind) live(_ context.Context, _ *DB, _ querier, s subject) (string, error) {
	return renderSetting(s.app.Chart), nil
}

func (chartKind) prepare(ctx context.Context, db *DB, _ querier, _ subject, content, _ string) (string, error) {
	var c gatehouse.Chart
	if err := gatehouse.ParseSetting("content", content, &c); err != nil {
		return "", err
	}
	pinned, err := db.pinChart(ctx, "content", c)
	if err != nil {
		return "", err
	}
	return renderSetting(pinned), nil
}

func (chartKind) judges(ctx context.Context, _ *DB, q querier, s subject, _, _ string, _ *gatehouse.ConfigChange) ([]gatehouse.Judge, error) {
	return appJudges(ctx, q, s.ref.Project, s.ref.App)
}

func (chartKind) apply(tx *Tx, s subject, _, body string, how application) (int64, error) {
	var c gatehouse.Chart
	if err := gatehouse.ParseSetting("content", body, &c); err != nil {
		return 0, err
	}
	return 0, tx.updateApp(s, "chart", func(a *gatehouse.App) { a.Chart = c }, how)
}

// hooksKind is the draft kind of an app's pre- and post-deploy steps (images by digest).
type hooksKind struct{ setting }

func (hooksKind) live(_ context.Context, _ *DB, _ querier, s subject) (string, error) {
	return renderSetting(s.app.Hooks), nil
}

func (hooksKind) prepare(_ context.Context, _ *DB, _ querier, _ subject, content, _ string) (string, error) {
	var h gatehouse.Hooks
	if err := gatehouse.ParseSetting("content", content, &h); err != nil {
		return "", err
	}
	if err := h.Validate("content"); err != nil {
		return "", err
	}
	return renderSetting(h), nil
}

func (hooksKind) judges(ctx context.Context, _ *DB, q querier, s subject, _, _ string, _ *gatehouse.ConfigChange) ([]gatehouse.Judge, error) {
	return appJudges(ctx, q, s.ref.Project, s.ref.App)
}

func (hooksKind) apply(tx *Tx, s subject, _, body string, how application) (int64, error) {
	var h gatehouse.Hooks
	if err := gatehouse.ParseSetting("content", body, &h); err != nil {
		return 0, err
	}
	return 0, tx.updateApp(s, "hooks", func(a *gatehouse.App) { a.Hooks = h }, how)
}

// objectScope is what a deployment's release may create outside its namespace, as its
// environment allowed when it was queued.
type objectScope struct {
	AllowClusterScoped bool     `json:"allow_cluster_scoped"`
	AllowNamespaces    []string `json:"allow_namespaces"`
}

// pinOnFirstUse pins the chart of an app recorded before charts were pinned, at its first
// deployment since (trust on first use, audited); later deployments check that digest.
func (tx *Tx) pinOnFirstUse(app *gatehouse.App) error {
	if app.Chart.Digest != "" || tx.db.pin == nil {
		return nil
	}
	was := *app
	pinned, err := tx.db.pinChart(tx.ctx, "chart", app.Chart)
	if err != nil {
		return err
	}
	app.Chart = pinned
	chart, _, err := encodeChartHooks(app.Chart, app.Hooks)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(tx.ctx, `UPDATE apps SET chart = $1 WHERE id = $2`, chart, app.ID); err != nil {
		return fmt.Errorf("pin chart: %w", err)
	}
	return tx.audit(change{action: "app.chart_pinned", resource: appResource(app), target: app.Target(),
		before: map[string]any{"chart": was.Chart}, after: map[string]any{"chart": app.Chart},
		details: map[string]any{"reason": "first deployment since charts are pinned"}})
}
