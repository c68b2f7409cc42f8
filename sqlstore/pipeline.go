package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gatehousehq/gatehouse"
)

// PipelineService implements gatehouse.PipelineService.
type PipelineService struct{ db *DB }

// NewPipelineService returns the pipeline service of db.
func NewPipelineService(db *DB) *PipelineService { return &PipelineService{db: db} }

func scanStage(row scanner) (gatehouse.Stage, error) {
	var s gatehouse.Stage
	err := row.Scan(&s.Name, &s.Environment, &s.After, &s.Trigger, &s.Timeout, &s.AutoRollback)
	return s, err
}

// readPipeline reads an app's pipeline; an app without one has no stages.
func readPipeline(ctx context.Context, q querier, app *gatehouse.App) (*gatehouse.Pipeline, error) {
	p := &gatehouse.Pipeline{Project: app.Project, App: app.Name, Stages: []gatehouse.Stage{}}
	var updated int64
	err := q.QueryRowContext(ctx, `SELECT updated_at FROM pipelines WHERE app_id = $1`, app.ID).Scan(&updated)
	if errors.Is(err, sql.ErrNoRows) {
		return p, nil
	} else if err != nil {
		return nil, fmt.Errorf("read pipeline: %w", err)
	}
	p.UpdatedAt = fromMicro(updated)
	stages, err := queryAll(ctx, q, scanStage, `SELECT s.name, e.name, s.after_stage, s.trigger_mode, s.timeout, s.auto_rollback
		FROM pipeline_stages s JOIN environments e ON e.id = s.environment_id WHERE s.app_id = $1 ORDER BY s.position`, app.ID)
	if err != nil {
		return nil, fmt.Errorf("read pipeline stages: %w", err)
	}
	p.Stages = append(p.Stages, stages...)
	return p, nil
}

// Pipeline implements gatehouse.PipelineService.
func (s *PipelineService) Pipeline(ctx context.Context, project, app string) (*gatehouse.Pipeline, error) {
	_, a, err := visibleApp(ctx, s.db.r, project, app)
	if err != nil {
		return nil, err
	}
	return readPipeline(ctx, s.db.r, a)
}

// SetPipeline implements gatehouse.PipelineService.
func (s *PipelineService) SetPipeline(ctx context.Context, project, app string, in gatehouse.PipelineSet) (*gatehouse.Pipeline, error) {
	var after *gatehouse.Pipeline
	err := s.db.write(ctx, func(tx *Tx) error {
		who, a, err := visibleApp(ctx, tx, project, app)
		if err != nil {
			return err
		}
		if err := who.Require(gatehouse.ActionManage, a.Target()); err != nil {
			return err
		}
		envs := map[string]int64{}
		type envRow struct {
			name string
			id   int64
		}
		rows, err := queryAll(ctx, tx, func(r scanner) (envRow, error) {
			var e envRow
			return e, r.Scan(&e.name, &e.id)
		}, `SELECT e.name, e.id FROM environments e JOIN projects p ON p.id = e.project_id WHERE p.name = $1`, project)
		if err != nil {
			return fmt.Errorf("list environments: %w", err)
		}
		for _, r := range rows {
			envs[r.name] = r.id
		}
		if err := in.Validate(func(e string) bool { _, ok := envs[e]; return ok }); err != nil {
			return err
		}
		before, err := readPipeline(ctx, tx, a)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM pipelines WHERE app_id = $1`, a.ID); err != nil {
			return fmt.Errorf("replace pipeline: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO pipelines (app_id, updated_at) VALUES ($1, $2)`, a.ID, micro(tx.now)); err != nil {
			return fmt.Errorf("replace pipeline: %w", err)
		}
		for i, st := range in.Stages {
			if _, err := tx.ExecContext(ctx, `INSERT INTO pipeline_stages (app_id, position, name, environment_id, after_stage, trigger_mode, timeout, auto_rollback)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, a.ID, i, st.Name, envs[st.Environment], st.After, st.Trigger, st.Timeout, st.AutoRollback); err != nil {
				return fmt.Errorf("insert stage: %w", err)
			}
		}
		after = &gatehouse.Pipeline{Project: project, App: app, Stages: append([]gatehouse.Stage{}, in.Stages...), UpdatedAt: tx.now}
		return tx.audit(change{action: "pipeline.set", resource: "pipeline/" + project + "/" + app, target: a.Target(), before: before, after: after})
	})
	return after, err
}
