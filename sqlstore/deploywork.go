package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// Outcomes of claiming a deployment that are not faults: the worker stops quietly, or (busy)
// waits and tries again.
var (
	ErrFinished  = errors.New("deployment already finished")
	ErrLeased    = errors.New("deployment is being run by another worker")
	ErrLeaseLost = errors.New("deployment lease lost to another worker")
)

// EnvironmentBusyError says a queued deployment must wait for another of the same app to the
// same environment.
type EnvironmentBusyError struct{ Deployment, Blocker int64 }

func (e *EnvironmentBusyError) Error() string {
	return fmt.Sprintf("deployment %d waits for deployment %d in the same environment", e.Deployment, e.Blocker)
}

// DeployJob is a claimed deployment with what running it needs.
type DeployJob struct {
	gatehouse.Deployment
	Chart        gatehouse.Chart
	Hooks        gatehouse.Hooks
	Timeout      time.Duration
	AutoRollback bool
	// Secrets are the secret settings to apply (the chart's `secrets`), unsealed; Values hold
	// only marks in their place.
	Secrets map[string]string
	// LastGood is the Helm revision of the environment's last succeeded deployment of the
	// app before this one (0 when there is none): the target of an automatic rollback.
	LastGood int
	// AllowClusterScoped lets the release hold cluster-scoped objects, and AllowNamespaces
	// lists namespaces besides the environment's own that its objects may be in; by default
	// neither (the worker refuses such a release).
	AllowClusterScoped bool
	AllowNamespaces    []string
}

var activeStates = func() string {
	q := make([]string, len(gatehouse.ActiveStates))
	for i, s := range gatehouse.ActiveStates {
		q[i] = "'" + string(s) + "'"
	}
	return strings.Join(q, ", ")
}()

type leaseRow struct {
	state  gatehouse.DeploymentState
	owner  string
	until  int64
	envID  int64
	appID  int64
	chart  string
	hooks  string
	ms     int64
	rollbk bool
}

func (tx *Tx) lockDeployment(id int64) (leaseRow, error) {
	var r leaseRow
	err := tx.QueryRowContext(tx.ctx, `SELECT state, lease_owner, lease_until, environment_id, app_id, chart, hooks, timeout_ms, auto_rollback
		FROM deployments WHERE id = $1`+tx.db.dialect.forUpdate, id).
		Scan(&r.state, &r.owner, &r.until, &r.envID, &r.appID, &r.chart, &r.hooks, &r.ms, &r.rollbk)
	if err != nil {
		return r, notFoundOr(err, "deployment %d not found", id)
	}
	return r, nil
}

// ClaimDeployment takes the deployment for a worker (owner) for lease: a queued deployment
// starts (pre-deploy, or straight on to applying when it has no pre-deploy steps) when no other deployment of its app to its environment is active and
// no older one waits; an
// active one whose lease expired or was handed off resumes where it stopped. It returns
// ErrFinished, ErrLeased or *EnvironmentBusyError when the worker must not run it now.
func (db *DB) ClaimDeployment(ctx context.Context, id int64, owner string, lease time.Duration) (*DeployJob, error) {
	ctx = gatehouse.WithActor(ctx, gatehouse.SystemActor())
	var job *DeployJob
	err := db.write(ctx, func(tx *Tx) error {
		r, err := tx.lockDeployment(id)
		if err != nil {
			return err
		}
		now := micro(tx.now)
		switch {
		case r.state.Terminal():
			return ErrFinished
		case r.state == gatehouse.StateQueued:
			var blocker int64
			err := tx.QueryRowContext(ctx, `SELECT id FROM deployments WHERE app_id = $1 AND environment_id = $2 AND id <> $3
				AND (state IN (`+activeStates+`) OR (state = 'queued' AND id < $3)) ORDER BY id LIMIT 1`, r.appID, r.envID, id).Scan(&blocker)
			if err == nil {
				return &EnvironmentBusyError{Deployment: id, Blocker: blocker}
			} else if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("check environment: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE deployments SET state = $1, started_at = $2, lease_owner = $3, lease_until = $4 WHERE id = $5`,
				gatehouse.StatePreDeploy, now, owner, micro(tx.now.Add(lease)), id); err != nil {
				if isUniqueViolation(err) {
					return &EnvironmentBusyError{Deployment: id}
				}
				return fmt.Errorf("start deployment: %w", err)
			}
			if err := tx.addEvent(id, string(gatehouse.StatePreDeploy), "started by worker "+owner); err != nil {
				return err
			}
		case r.owner != owner && r.until > now && !strings.HasPrefix(r.owner, "handoff:"):
			return ErrLeased
		default:
			if _, err := tx.ExecContext(ctx, `UPDATE deployments SET lease_owner = $1, lease_until = $2 WHERE id = $3`,
				owner, micro(tx.now.Add(lease)), id); err != nil {
				return fmt.Errorf("take lease: %w", err)
			}
			if r.owner != owner {
				prev := strings.TrimPrefix(r.owner, "handoff:")
				if err := tx.addEvent(id, string(r.state), fmt.Sprintf("resumed by worker %s after worker %s stopped", owner, prev)); err != nil {
					return err
				}
			}
		}
		d, err := findDeployment(ctx, tx, id)
		if err != nil {
			return err
		}
		job = &DeployJob{Deployment: *d, Timeout: time.Duration(r.ms) * time.Millisecond, AutoRollback: r.rollbk}
		if job.Secrets, err = tx.db.deploymentSecrets(ctx, tx, id); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(r.hooks), &job.Hooks); err != nil {
			return fmt.Errorf("deployment hooks: %w", err)
		}
		if err := json.Unmarshal([]byte(r.chart), &job.Chart); err != nil {
			return fmt.Errorf("deployment chart: %w", err)
		}
		err = tx.QueryRowContext(ctx, `SELECT helm_revision FROM deployments WHERE app_id = $1 AND environment_id = $2
			AND state = 'succeeded' AND id < $3 ORDER BY id DESC LIMIT 1`, r.appID, r.envID, id).Scan(&job.LastGood)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("last good release: %w", err)
		}
		if r.state != gatehouse.StateQueued {
			return nil
		}
		if err := tx.audit(change{action: "deployment.start", resource: fmt.Sprintf("deployment/%d", id), target: d.Target(),
			before: map[string]any{"state": r.state}, after: deploymentAudit(d)}); err != nil {
			return err
		}
		if len(job.Hooks.PreDeploy) == 0 {
			// Nothing to run before applying: take that step in this transaction.
			if err := tx.moveDeployment(id, gatehouse.StatePreDeploy, gatehouse.StateApplying, Outcome{Message: "no pre-deploy steps"}); err != nil {
				return err
			}
			job.State = gatehouse.StateApplying
		}
		return nil
	})
	return job, err
}

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
// approved request for the artifact is passed over (noted on the deployment that promoted,
// when there is one): approval, not the pipeline, opens it.
func (tx *Tx) autoDeploy(app *gatehouse.App, stages []gatehouse.Stage, digest, by string, from int64) error {
	for _, st := range stages {
		if st.Trigger != gatehouse.TriggerAuto {
			continue
		}
		env, err := findEnvironment(tx.ctx, tx, app.Project, st.Environment)
		if err != nil {
			return err
		}
		art, err := findArtifact(tx.ctx, tx, app, digest)
		if err != nil {
			return err
		}
		if art.RetractedAt != nil {
			continue
		}
		pass, err := tx.gate(app, env, art, nil, nil)
		if k := gatehouse.KindOf(err); k == gatehouse.KindPreconditionFailed || k == gatehouse.KindForbidden {
			if from != 0 {
				if err := tx.addEvent(from, string(gatehouse.StateSucceeded), fmt.Sprintf("stage %s waits for approval: %v", st.Name, err)); err != nil {
					return err
				}
			}
			continue
		} else if err != nil {
			return err
		}
		if _, err := tx.createDeployment(newDeployment{app: app, env: env, stage: st, artifact: art, kind: gatehouse.KindDeploy, by: by, pass: pass}); err != nil {
			return err
		}
	}
	return nil
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
