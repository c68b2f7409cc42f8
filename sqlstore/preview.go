package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gatehousehq/gatehouse"
)

// Review returns what an approver needs to decide on a request: compared with the
// environment's last successful deployment, the image and the values that would change.
func (s *ApprovalService) Review(ctx context.Context, id int64) (*gatehouse.ApprovalReview, error) {
	r, err := s.Approval(ctx, id)
	if err != nil {
		return nil, err
	}
	p, err := s.db.preview(ctx, r.Project, r.App, r.Environment, r.Digest)
	if err != nil {
		return nil, err
	}
	return &gatehouse.ApprovalReview{Request: r, DeploymentPreview: *p}, nil
}

// Preview implements gatehouse.DeploymentService.
func (s *DeploymentService) Preview(ctx context.Context, project, app string, in gatehouse.DeploymentCreate) (*gatehouse.DeploymentPreview, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	who, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if !who.CanSee(gatehouse.Target{Project: project, App: app, Env: in.Environment}) {
		return nil, gatehouse.NotFoundf("app %s/%s not found", project, app)
	}
	return s.db.preview(ctx, project, app, in.Environment, in.Digest)
}

// preview compares deploying the artifact to the environment with its last successful
// deployment.
func (db *DB) preview(ctx context.Context, project, appName, envName, digest string) (*gatehouse.DeploymentPreview, error) {
	p := &gatehouse.DeploymentPreview{Changes: []gatehouse.ValueChange{}}
	app, err := findApp(ctx, db.r, project, appName)
	if err != nil {
		return nil, err
	}
	env, err := findEnvironment(ctx, db.r, project, envName)
	if err != nil {
		return nil, err
	}
	art, err := findArtifact(ctx, db.r, app, digest)
	if err != nil {
		return nil, err
	}
	ec, err := db.effectiveConfig(ctx, db.r, app, env)
	if err != nil {
		return nil, err
	}
	next := gatehouse.RenderValues(gatehouse.MergeValues(ec.values, db.secretMarks(app.ID, env.ID, ec.secrets), gatehouse.ImageValues(art)))
	prev, err := scanDeployment(db.r.QueryRowContext(ctx, deploymentSelect+` WHERE d.app_id = $1 AND d.environment_id = $2
		AND d.state = 'succeeded' ORDER BY d.id DESC LIMIT 1`, app.ID, env.ID))
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("last deployment: %w", err)
	}
	candidate := &gatehouse.Deployment{Environment: env.Name, Image: art.Reference(), Values: next}
	if prev == nil {
		prev = &gatehouse.Deployment{Environment: env.Name}
	} else {
		p.Previous = maskedDeployment(prev)
	}
	d, err := gatehouse.DiffDeployments(prev, candidate)
	if err != nil {
		return nil, err
	}
	p.ImageChange, p.Changes = d.Image, d.Changes
	p.Chart, p.Hooks = app.Chart, app.Hooks
	runs := func(c gatehouse.Chart, h gatehouse.Hooks) string {
		return renderSetting(map[string]any{"chart": c, "hooks": h})
	}
	was := ""
	if p.Previous != nil {
		var chart, hooks string
		if err := db.r.QueryRowContext(ctx, `SELECT chart, hooks FROM deployments WHERE id = $1`, p.Previous.ID).Scan(&chart, &hooks); err != nil {
			return nil, fmt.Errorf("previous deployment: %w", err)
		}
		var c gatehouse.Chart
		var h gatehouse.Hooks
		if json.Unmarshal([]byte(chart), &c) == nil && json.Unmarshal([]byte(hooks), &h) == nil {
			was = runs(c, h)
		}
	}
	ch, err := settingChange("previous", "next", was, runs(app.Chart, app.Hooks))
	if err != nil {
		return nil, err
	}
	p.Settings = ch.Changes
	return p, nil
}
