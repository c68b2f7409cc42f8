package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// windowVerdict is what the windows say now of deploying the app into the environment.
func (tx *Tx) windowVerdict(app *gatehouse.App, env *gatehouse.Environment) (gatehouse.WindowVerdict, error) {
	ws, err := allWindows(tx.ctx, tx)
	if err != nil {
		return gatehouse.WindowVerdict{}, err
	}
	return gatehouse.WindowsAt(ws, gatehouse.Target{Project: app.Project, App: app.Name, Env: env.Name}, tx.now), nil
}

// waiting is what createDeployment returns, with no deployment, for an automatic deployment
// that met a closed window: it waits (see waitForWindow). Only the automatic paths see it.
type waiting struct{ verdict gatehouse.WindowVerdict }

func (w *waiting) Error() string { return "waiting: " + w.verdict.Text() }

// windowRecheck is how long a wait whose window opens beyond the horizon waits before it is
// judged again.
const windowRecheck = 24 * time.Hour

// waitForWindow records that the deployment waits for the windows to open: a new wait, or (when
// n resumes one) the wait judged again. An artifact already waiting for the environment is not
// added twice.
func (tx *Tx) waitForWindow(n newDeployment, v gatehouse.WindowVerdict) error {
	checkAt := v.Until
	if checkAt.IsZero() {
		checkAt = tx.now.Add(windowRecheck)
	}
	if n.wait != 0 {
		_, err := tx.ExecContext(tx.ctx, `UPDATE deployment_waits SET verdict = $1, message = $2, check_at = $3 WHERE id = $4`,
			jsonText(v), v.Text(), micro(checkAt), n.wait)
		if err != nil {
			return fmt.Errorf("wait again: %w", err)
		}
		return &waiting{v}
	}
	res, err := tx.ExecContext(tx.ctx, `INSERT INTO deployment_waits (app_id, environment_id, stage, digest, kind, triggered_by, state,
		verdict, message, check_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'waiting', $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
		n.app.ID, n.env.ID, n.stage.Name, n.artifact.Digest, n.kind, n.by, jsonText(v), v.Text(), micro(checkAt), micro(tx.now))
	if err != nil {
		return fmt.Errorf("wait for window: %w", err)
	}
	if added, _ := res.RowsAffected(); added == 1 {
		t := gatehouse.Target{Project: n.app.Project, App: n.app.Name, Env: n.env.Name}
		if err := tx.audit(change{action: "deployment.wait", resource: fmt.Sprintf("app/%s/%s", n.app.Project, n.app.Name), target: t,
			details: map[string]any{"stage": n.stage.Name, "digest": n.artifact.Digest, "triggered_by": n.by, "windows": v.By, "message": v.Text()}}); err != nil {
			return err
		}
	}
	return &waiting{v}
}

// windowsChanged makes every wait be judged again at once: a window changed.
func (tx *Tx) windowsChanged() error {
	if _, err := tx.ExecContext(tx.ctx, `UPDATE deployment_waits SET check_at = $1 WHERE state = 'waiting' AND check_at > $1`, micro(tx.now)); err != nil {
		return fmt.Errorf("judge waits again: %w", err)
	}
	return nil
}

const waitSelect = `SELECT w.id, p.name, a.name, e.name, w.stage, w.digest, w.kind, w.triggered_by, w.state, w.verdict, w.message,
	w.deployment_id, w.created_at, w.ended_at
	FROM deployment_waits w JOIN apps a ON a.id = w.app_id JOIN projects p ON p.id = a.project_id JOIN environments e ON e.id = w.environment_id`

func scanWait(row scanner) (*gatehouse.DeploymentWait, error) {
	var w gatehouse.DeploymentWait
	var verdict string
	var deployment, ended sql.NullInt64
	var created int64
	if err := row.Scan(&w.ID, &w.Project, &w.App, &w.Environment, &w.Stage, &w.Digest, &w.Kind, &w.TriggeredBy, &w.State, &verdict, &w.Message,
		&deployment, &created, &ended); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(verdict), &w.Verdict); err != nil {
		return nil, fmt.Errorf("wait %d: %w", w.ID, err)
	}
	w.Deployment, w.CreatedAt, w.EndedAt = deployment.Int64, fromMicro(created), fromNullMicro(ended)
	return &w, nil
}

// Waiting implements gatehouse.WindowService.
func (s *WindowService) Waiting(ctx context.Context, project, app string, state gatehouse.WaitState) ([]*gatehouse.DeploymentWait, error) {
	return s.db.waiting(ctx, s.db.r, project, app, state)
}

func (db *DB) waiting(ctx context.Context, q querier, project, app string, state gatehouse.WaitState) ([]*gatehouse.DeploymentWait, error) {
	switch state {
	case "":
		state = gatehouse.WaitWaiting
	case gatehouse.WaitWaiting, gatehouse.WaitStarted, gatehouse.WaitDropped:
	default:
		return nil, gatehouse.Invalidf("state", "%q is not a wait state: expected waiting, started or dropped", state)
	}
	who, a, err := visibleApp(ctx, q, project, app)
	if err != nil {
		return nil, err
	}
	var args sqlArgs
	query := waitSelect + ` WHERE w.app_id = ` + args.add(a.ID) + ` AND w.state = ` + args.add(state) + ` AND ` +
		seesSQL(who.Grants, &args, at("p.name", "a.name", "e.name")) + ` ORDER BY w.id DESC LIMIT 200`
	out, err := queryAll(ctx, q, scanWait, query, args...)
	if err != nil {
		return nil, fmt.Errorf("waits: %w", err)
	}
	return out, nil
}

// StartOpenedWaits judges again the waits whose time came (their window's next change, or a
// window changed): each starts its deployment if the windows now let it, waits again if not,
// or is dropped when its path no longer stands (the stage is gone or manual, the approval
// ran out, the artifact was retracted). Each wait is judged in its own transaction, and a
// wait is judged by one replica at a time. It returns how many deployments started.
func (db *DB) StartOpenedWaits(ctxIn context.Context) (int, error) {
	ctx := gatehouse.WithActor(ctxIn, gatehouse.SystemActor())
	ids, err := queryAll(ctx, db.r, func(r scanner) (int64, error) {
		var id int64
		return id, r.Scan(&id)
	}, `SELECT id FROM deployment_waits WHERE state = 'waiting' AND check_at <= $1 ORDER BY check_at, id LIMIT 100`, micro(db.now()))
	if err != nil {
		return 0, fmt.Errorf("due waits: %w", err)
	}
	started := 0
	for _, id := range ids {
		err := db.write(ctx, func(tx *Tx) error {
			w, err := scanWait(tx.QueryRowContext(ctx, waitSelect+` WHERE w.id = $1 AND w.state = 'waiting' AND w.check_at <= $2`+db.dialect.forUpdateOf("w"), id, micro(tx.now)))
			if errors.Is(err, sql.ErrNoRows) {
				return nil // another replica judged it
			} else if err != nil {
				return fmt.Errorf("wait %d: %w", id, err)
			}
			d, err := tx.resumeWait(w)
			if d != nil {
				started++
			}
			return err
		})
		if err != nil {
			return started, err
		}
	}
	return started, nil
}

// resumeWait judges a wait again along the path that made it: the stage as it is now, the
// artifact, the gate and the windows.
func (tx *Tx) resumeWait(w *gatehouse.DeploymentWait) (*gatehouse.Deployment, error) {
	app, err := findApp(tx.ctx, tx, w.Project, w.App)
	if err != nil {
		return nil, err
	}
	p, err := readPipeline(tx.ctx, tx, app)
	if err != nil {
		return nil, err
	}
	st := p.StageFor(w.Environment)
	if st == nil || st.Trigger != gatehouse.TriggerAuto {
		return nil, tx.endWait(w, gatehouse.WaitDropped, 0, fmt.Sprintf("environment %s is no longer an automatic stage of app %s: deploy it by hand", w.Environment, w.App))
	}
	d, refused, err := tx.autoStart(app, *st, w.Digest, w.TriggeredBy, w.ID)
	var still *waiting
	switch {
	case errors.As(err, &still):
		return nil, nil
	case err != nil:
		return nil, err
	case refused != nil:
		return nil, tx.endWait(w, gatehouse.WaitDropped, 0, refused.Error())
	}
	if err := tx.addEvent(d.ID, "queued", fmt.Sprintf("waited since %s for the windows to open (%s)", w.CreatedAt.UTC().Format(time.RFC3339), w.Message)); err != nil {
		return nil, err
	}
	return d, tx.endWait(w, gatehouse.WaitStarted, d.ID, fmt.Sprintf("started as deployment %d", d.ID))
}

// endWait ends a wait, started as the deployment or dropped with why, audited.
func (tx *Tx) endWait(w *gatehouse.DeploymentWait, to gatehouse.WaitState, deployment int64, message string) error {
	if _, err := tx.ExecContext(tx.ctx, `UPDATE deployment_waits SET state = $1, deployment_id = $2, message = $3, ended_at = $4 WHERE id = $5`,
		to, sql.NullInt64{Int64: deployment, Valid: deployment != 0}, message, micro(tx.now), w.ID); err != nil {
		return fmt.Errorf("end wait: %w", err)
	}
	return tx.audit(change{action: "deployment.wait_" + string(to), resource: fmt.Sprintf("app/%s/%s", w.Project, w.App),
		target:  gatehouse.Target{Project: w.Project, App: w.App, Env: w.Environment},
		details: map[string]any{"wait": w.ID, "stage": w.Stage, "digest": w.Digest, "deployment": deployment, "message": message}})
}
