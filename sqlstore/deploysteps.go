package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// RenewLease extends the worker's lease. ErrLeaseLost means another worker took over.
func (db *DB) RenewLease(ctx context.Context, id int64, owner string, lease time.Duration) error {
	res, err := db.w.ExecContext(ctx, `UPDATE deployments SET lease_until = $1 WHERE id = $2 AND lease_owner = $3`,
		micro(db.now().Add(lease)), id, owner)
	if err != nil {
		return fmt.Errorf("renew lease: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrLeaseLost
	}
	return nil
}

// Outcome is what a step reports when the deployment moves on.
type Outcome struct {
	Message      string // progress line for the deployment's events
	Cause        string // why it failed, shown to people
	HelmRevision int    // the release revision applied, when known
}

// AdvanceDeployment moves a deployment the worker holds through the states of path in one
// transaction (each step checked against the state machine, recorded as an event and audited),
// so a step with nothing to do costs no extra commit. o's message goes with the first step, its
// cause with the last; reaching succeeded queues the app's auto stages that follow this one.
func (db *DB) AdvanceDeployment(ctx context.Context, id int64, owner string, o Outcome, path ...gatehouse.DeploymentState) error {
	ctx = gatehouse.WithActor(ctx, gatehouse.SystemActor())
	return db.write(ctx, func(tx *Tx) error {
		r, err := tx.lockDeployment(id)
		if err != nil {
			return err
		}
		if r.owner != owner {
			return ErrLeaseLost
		}
		from := r.state
		for i, to := range path {
			step := Outcome{HelmRevision: o.HelmRevision}
			if i == 0 {
				step.Message = o.Message
			}
			if i == len(path)-1 {
				step.Cause = o.Cause
			}
			if err := tx.moveDeployment(id, from, to, step); err != nil {
				return err
			}
			from = to
		}
		return nil
	})
}

// moveDeployment takes one step of the state machine: state, event, audit event, and on
// success the promotion to the next auto stages.
func (tx *Tx) moveDeployment(id int64, from, to gatehouse.DeploymentState, o Outcome) error {
	if !from.CanMoveTo(to) {
		return fmt.Errorf("deployment %d cannot move from %s to %s", id, from, to)
	}
	q := `UPDATE deployments SET state = $1, cause = $2, helm_revision = CASE WHEN $3 > 0 THEN $3 ELSE helm_revision END`
	args := []any{to, o.Cause, o.HelmRevision, id}
	if to.Terminal() {
		q += `, finished_at = $5, lease_owner = '', lease_until = 0`
		args = append(args, micro(tx.now))
	}
	if to == gatehouse.StateSucceeded {
		// The first of its digest to succeed here brought a change (delivery metrics).
		q += `, first_success = NOT EXISTS (SELECT 1 FROM deployments f WHERE f.app_id = deployments.app_id
			AND f.environment_id = deployments.environment_id AND f.digest = deployments.digest AND f.state = 'succeeded' AND f.id <> deployments.id)`
	}
	if _, err := tx.ExecContext(tx.ctx, q+` WHERE id = $4`, args...); err != nil {
		return fmt.Errorf("advance deployment: %w", err)
	}
	msg := strings.TrimSpace(o.Message + " " + o.Cause)
	if err := tx.addEvent(id, string(to), msg); err != nil {
		return err
	}
	d, err := findDeployment(tx.ctx, tx, id)
	if err != nil {
		return err
	}
	if err := tx.audit(change{action: "deployment." + string(to), resource: fmt.Sprintf("deployment/%d", id), target: d.Target(),
		before: map[string]any{"state": from}, after: deploymentAudit(d)}); err != nil {
		return err
	}
	if to == gatehouse.StateSucceeded {
		return tx.promote(d)
	}
	return nil
}

// promote queues the deployment's artifact to every auto stage that follows its stage.
func (tx *Tx) promote(d *gatehouse.Deployment) error {
	app, err := findApp(tx.ctx, tx, d.Project, d.App)
	if err != nil {
		return err
	}
	p, err := readPipeline(tx.ctx, tx, app)
	if err != nil {
		return err
	}
	return tx.autoDeploy(app, p.Children(d.Stage), d.Digest, fmt.Sprintf("pipeline (after deployment %d)", d.ID), d.ID)
}

// autoDeploy queues the artifact to each auto stage among stages. A gated stage without an
// approved request for the artifact is passed over, and a stage whose windows are closed
// waits for them (both noted on the deployment that promoted, when there is one): approval,
// not the pipeline, opens a gate, and time a window.
func (tx *Tx) autoDeploy(app *gatehouse.App, stages []gatehouse.Stage, digest, by string, from int64) error {
	for _, st := range stages {
		if st.Trigger != gatehouse.TriggerAuto {
			continue
		}
		_, refused, err := tx.autoStart(app, st, digest, by, 0)
		var w *waiting
		switch {
		case errors.As(err, &w):
			if from != 0 {
				if err := tx.addEvent(from, string(gatehouse.StateSucceeded), fmt.Sprintf("stage %s waits: %s", st.Name, w.verdict.Text())); err != nil {
					return err
				}
			}
		case err != nil:
			return err
		case refused != nil && from != 0:
			if err := tx.addEvent(from, string(gatehouse.StateSucceeded), fmt.Sprintf("stage %s waits for approval: %v", st.Name, refused)); err != nil {
				return err
			}
		}
	}
	return nil
}

// autoStart queues the artifact to an auto stage, as the pipeline (by), through the stage's
// gate and windows; wait is the wait it resumes, if any. It returns the deployment, or why
// it cannot start (a retracted artifact, a gate that refuses), or — with a *waiting error —
// that it waits for a window.
func (tx *Tx) autoStart(app *gatehouse.App, st gatehouse.Stage, digest, by string, wait int64) (*gatehouse.Deployment, error, error) {
	env, err := findEnvironment(tx.ctx, tx, app.Project, st.Environment)
	if err != nil {
		return nil, nil, err
	}
	art, err := findArtifact(tx.ctx, tx, app, digest)
	if err != nil {
		return nil, nil, err
	}
	if art.RetractedAt != nil {
		return nil, gatehouse.Errorf(gatehouse.KindPreconditionFailed, "artifact %s was retracted by %s", art.Digest, art.RetractedBy), nil
	}
	pass, err := tx.gate(app, env, art, nil, nil)
	if k := gatehouse.KindOf(err); k == gatehouse.KindPreconditionFailed || k == gatehouse.KindForbidden {
		return nil, err, nil
	} else if err != nil {
		return nil, nil, err
	}
	d, err := tx.createDeployment(newDeployment{app: app, env: env, stage: st, artifact: art, kind: gatehouse.KindDeploy, by: by, pass: pass, wait: wait})
	return d, nil, err
}

// LogDeployment appends a progress line to a deployment.
func (db *DB) LogDeployment(ctx context.Context, id int64, step, message string) error {
	return db.write(ctx, func(tx *Tx) error { return tx.addEvent(id, step, message) })
}

// HandOffStale finds active deployments whose worker stopped renewing its lease, marks each
// handed off (keeping the silent worker's name for the record) and queues a job to resume it,
// in one transaction per deployment. It returns the deployments it handed off.
func (db *DB) HandOffStale(ctx context.Context, lease time.Duration) ([]int64, error) {
	ids, err := queryAll(ctx, db.r, func(r scanner) (int64, error) {
		var id int64
		return id, r.Scan(&id)
	}, `SELECT id FROM deployments WHERE state IN (`+activeStates+`) AND lease_until < $1 ORDER BY id LIMIT 100`, micro(db.now()))
	if err != nil {
		return nil, fmt.Errorf("stale deployments: %w", err)
	}
	var out []int64
	for _, id := range ids {
		err := db.write(ctx, func(tx *Tx) error {
			res, err := tx.ExecContext(ctx, `UPDATE deployments SET lease_until = $1,
				lease_owner = CASE WHEN lease_owner LIKE 'handoff:%' THEN lease_owner ELSE 'handoff:' || lease_owner END
				WHERE id = $2 AND state IN (`+activeStates+`) AND lease_until < $3`,
				micro(tx.now.Add(lease)), id, micro(tx.now))
			if err != nil {
				return fmt.Errorf("hand off deployment %d: %w", id, err)
			}
			if n, _ := res.RowsAffected(); n == 0 || db.queue == nil {
				return nil
			}
			out = append(out, id)
			return db.queue.EnqueueDeployment(ctx, tx.Tx, id)
		})
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// ReleaseLease gives up the worker's lease at once (a server shutting down), so the next
// worker resumes the deployment without waiting for the lease to expire.
func (db *DB) ReleaseLease(ctx context.Context, id int64, owner string) error {
	_, err := db.w.ExecContext(ctx, `UPDATE deployments SET lease_until = 0 WHERE id = $1 AND lease_owner = $2`, id, owner)
	if err != nil {
		return fmt.Errorf("release lease: %w", err)
	}
	return nil
}
