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
	scope  string
}

func (tx *Tx) lockDeployment(id int64) (leaseRow, error) {
	var r leaseRow
	err := tx.QueryRowContext(tx.ctx, `SELECT state, lease_owner, lease_until, environment_id, app_id, chart, hooks, timeout_ms, auto_rollback,
		object_scope FROM deployments WHERE id = $1`+tx.db.dialect.forUpdate, id).
		Scan(&r.state, &r.owner, &r.until, &r.envID, &r.appID, &r.chart, &r.hooks, &r.ms, &r.rollbk, &r.scope)
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
	refused := false
	err := db.write(ctx, func(tx *Tx) error {
		refused = false
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
			if why, err := tx.misplaced(id, r.envID); err != nil {
				return err
			} else if why != "" {
				refused = true
				return tx.moveDeployment(id, gatehouse.StateQueued, gatehouse.StateFailed, Outcome{Cause: why})
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
		var scope objectScope
		if err := json.Unmarshal([]byte(r.scope), &scope); err != nil {
			return fmt.Errorf("deployment object scope: %w", err)
		}
		job.AllowClusterScoped = scope.AllowClusterScoped
		if job.AllowNamespaces, err = tx.unclaimed(d, scope.AllowNamespaces); err != nil {
			return err
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
	if err == nil && refused {
		return nil, ErrFinished
	}
	return job, err
}
