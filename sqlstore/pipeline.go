package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

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
	p, err := readPipeline(ctx, s.db.r, a)
	if err != nil {
		return nil, err
	}
	ws, err := allWindows(ctx, s.db.r)
	if err != nil {
		return nil, err
	}
	now := s.db.now()
	p.Windows = map[string]gatehouse.WindowVerdict{}
	for _, st := range p.Stages {
		p.Windows[st.Name] = gatehouse.WindowsAt(ws, gatehouse.Target{Project: project, App: app, Env: st.Environment}, now)
	}
	p.Waiting, err = s.db.waiting(ctx, s.db.r, project, app, gatehouse.WaitWaiting)
	return p, err
}

// SetPipeline implements gatehouse.PipelineService. Stages of environments that policies
// protect change only through a draft of kind pipeline; a change that touches none applies
// at once.
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
		sub, err := resolveSubject(ctx, tx, gatehouse.DraftRef{Kind: gatehouse.DraftPipeline, Project: project, App: app})
		if err != nil {
			return err
		}
		if _, err := tx.changeDirectly(sub, renderSetting(in), ""); err != nil {
			return err
		}
		after, err = readPipeline(ctx, tx, a)
		return err
	})
	return after, err
}

// pipelineKind is the draft kind of an app's pipeline. A change is judged, stage by stage,
// by the policies that protect the environment of each stage it adds, removes or alters.
type pipelineKind struct{ setting }

func (pipelineKind) live(ctx context.Context, _ *DB, q querier, s subject) (string, error) {
	p, err := readPipeline(ctx, q, s.app)
	if err != nil {
		return "", err
	}
	return renderSetting(gatehouse.PipelineSet{Stages: p.Stages}), nil
}

func (pipelineKind) prepare(ctx context.Context, _ *DB, q querier, s subject, content, _ string) (string, error) {
	var in gatehouse.PipelineSet
	if err := gatehouse.ParseSetting("content", content, &in); err != nil {
		return "", err
	}
	envs, err := projectEnvironments(ctx, q, s.ref.Project)
	if err != nil {
		return "", err
	}
	if err := in.Validate(func(e string) bool { _, ok := envs[e]; return ok }); err != nil {
		return "", err
	}
	if in.Stages == nil {
		in.Stages = []gatehouse.Stage{}
	}
	return renderSetting(in), nil
}

// projectEnvironments maps a project's environment names to their ids.
func projectEnvironments(ctx context.Context, q querier, project string) (map[string]int64, error) {
	type envRow struct {
		name string
		id   int64
	}
	rows, err := queryAll(ctx, q, func(r scanner) (envRow, error) {
		var e envRow
		return e, r.Scan(&e.name, &e.id)
	}, `SELECT e.name, e.id FROM environments e JOIN projects p ON p.id = e.project_id WHERE p.name = $1`, project)
	if err != nil {
		return nil, fmt.Errorf("list environments: %w", err)
	}
	out := map[string]int64{}
	for _, r := range rows {
		out[r.name] = r.id
	}
	return out, nil
}

// judges of a pipeline change: for each environment whose stage the change adds, removes or
// alters, the policies that protect it, counting people where they reach it. With no change
// (live = body), the judges of any change: those of every stage.
func (pipelineKind) judges(ctx context.Context, _ *DB, q querier, s subject, live, body string, _ *gatehouse.ConfigChange) ([]gatehouse.Judge, error) {
	var was, now gatehouse.PipelineSet
	if err := gatehouse.ParseSetting("live", live, &was); err != nil {
		return nil, err
	}
	if err := gatehouse.ParseSetting("content", body, &now); err != nil {
		return nil, err
	}
	var touched []string
	for _, st := range append(slices.Clone(was.Stages), now.Stages...) {
		if slices.Contains(touched, st.Environment) {
			continue
		}
		a, b := stageOf(was, st.Environment), stageOf(now, st.Environment)
		if live == body || a == nil || b == nil || *a != *b {
			touched = append(touched, st.Environment)
		}
	}
	slices.Sort(touched)
	out := []gatehouse.Judge{}
	for _, env := range touched {
		ps, err := settingPolicies(ctx, q, []gatehouse.Target{{Project: s.ref.Project, App: s.ref.App, Env: env}})
		if err != nil {
			return nil, err
		}
		out = append(out, judgesOf(gatehouse.Target{Project: s.ref.Project, App: s.ref.App, Env: env}, ps)...)
	}
	return out, nil
}

func stageOf(p gatehouse.PipelineSet, env string) *gatehouse.Stage {
	for i := range p.Stages {
		if p.Stages[i].Environment == env {
			return &p.Stages[i]
		}
	}
	return nil
}

// apply replaces the app's stages and audits the change.
func (pipelineKind) apply(tx *Tx, s subject, _, body string, how application) (int64, error) {
	var in gatehouse.PipelineSet
	if err := gatehouse.ParseSetting("content", body, &in); err != nil {
		return 0, err
	}
	envs, err := projectEnvironments(tx.ctx, tx, s.ref.Project)
	if err != nil {
		return 0, err
	}
	before, err := readPipeline(tx.ctx, tx, s.app)
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(tx.ctx, `DELETE FROM pipelines WHERE app_id = $1`, s.app.ID); err != nil {
		return 0, fmt.Errorf("replace pipeline: %w", err)
	}
	if _, err := tx.ExecContext(tx.ctx, `INSERT INTO pipelines (app_id, updated_at) VALUES ($1, $2)`, s.app.ID, micro(tx.now)); err != nil {
		return 0, fmt.Errorf("replace pipeline: %w", err)
	}
	for i, st := range in.Stages {
		if _, err := tx.ExecContext(tx.ctx, `INSERT INTO pipeline_stages (app_id, position, name, environment_id, after_stage, trigger_mode, timeout, auto_rollback)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, s.app.ID, i, st.Name, envs[st.Environment], st.After, st.Trigger, st.Timeout, st.AutoRollback); err != nil {
			return 0, fmt.Errorf("insert stage: %w", err)
		}
	}
	after := &gatehouse.Pipeline{Project: s.ref.Project, App: s.ref.App, Stages: append([]gatehouse.Stage{}, in.Stages...), UpdatedAt: tx.now}
	return 0, tx.audit(change{action: "pipeline.set", resource: "pipeline/" + s.ref.Project + "/" + s.ref.App, target: s.app.Target(),
		before: before, after: after, details: how.details(nil)})
}
