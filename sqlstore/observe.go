package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// Observer hears what the store did, once the transaction that did it has committed: never
// of a change that was rolled back or is about to be tried again. Its methods run on the
// caller's goroutine after the commit, so they must be quick and must not call the store.
type Observer interface {
	// ApprovalApproved says an approval request for an environment named env became approved,
	// wait after it was raised (both moments by the store's clock).
	ApprovalApproved(env string, wait time.Duration)
}

// SetObserver makes the store tell o what it did; nil (the default) tells no one. Set it
// before the store serves anyone.
func (db *DB) SetObserver(o Observer) { db.observer = o }

// observeApproval tells the observer, once tx commits, that the request became approved.
func (tx *Tx) observeApproval(r approvalRow) {
	o := tx.db.observer
	if o == nil {
		return
	}
	env, wait := r.Environment, tx.now.Sub(r.CreatedAt)
	tx.afterCommit(func() { o.ApprovalApproved(env, wait) })
}

// DeploymentCount is how many deployments to an environment of a project are in a state.
type DeploymentCount struct {
	Project, Environment string
	State                gatehouse.DeploymentState
	N                    int64
}

// CountDeployments counts every deployment by project, environment and state, in one query.
func (db *DB) CountDeployments(ctx context.Context) ([]DeploymentCount, error) {
	out, err := queryAll(ctx, db.r, func(row scanner) (DeploymentCount, error) {
		var c DeploymentCount
		err := row.Scan(&c.Project, &c.Environment, &c.State, &c.N)
		return c, err
	}, `SELECT p.name, e.name, d.state, COUNT(*) FROM deployments d JOIN environments e ON e.id = d.environment_id
		JOIN projects p ON p.id = e.project_id GROUP BY p.name, e.name, d.state`)
	if err != nil {
		return nil, fmt.Errorf("count deployments: %w", err)
	}
	return out, nil
}

// CountOpenApprovals counts the approval requests still open (pending and approved) by state;
// both states are always present.
func (db *DB) CountOpenApprovals(ctx context.Context) (map[gatehouse.BallotState]int64, error) {
	return countByState(ctx, db, "approval requests", `SELECT state, COUNT(*) FROM approvals WHERE state IN ('pending', 'approved') GROUP BY state`,
		gatehouse.ApprovalPending, gatehouse.ApprovalApproved)
}

// CountOpenDrafts counts the drafts of every kind still open (draft, proposed and approved)
// by state; the three states are always present.
func (db *DB) CountOpenDrafts(ctx context.Context) (map[gatehouse.BallotState]int64, error) {
	return countByState(ctx, db, "drafts", `SELECT state, COUNT(*) FROM drafts WHERE state IN ('draft', 'proposed', 'approved') GROUP BY state`,
		gatehouse.DraftOpen, gatehouse.DraftProposed, gatehouse.DraftApproved)
}

// CountJobs counts the job queue's jobs (River's river_job table, which exists once the
// workers migrated it) by state; the states named in always are present even when zero.
func (db *DB) CountJobs(ctx context.Context, always ...string) (map[string]int64, error) {
	return countByState(ctx, db, "jobs", `SELECT state, COUNT(*) FROM river_job GROUP BY state`, always...)
}

// countByState runs query, which yields (state, count) rows, starting from zero for the
// states of always.
func countByState[S ~string](ctx context.Context, db *DB, what, query string, always ...S) (map[S]int64, error) {
	out := map[S]int64{}
	for _, s := range always {
		out[s] = 0
	}
	rows, err := db.r.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("count %s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("count %s: %w", what, err)
		}
		out[S(s)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count %s: %w", what, err)
	}
	return out, nil
}

// AuditLength is how many events the audit chain holds: its head's sequence number, which
// every server's sequencer advances, so it is the same whichever server is asked. Events still
// queued are not counted yet.
func (db *DB) AuditLength(ctx context.Context) (int64, error) {
	var n int64
	if err := db.r.QueryRowContext(ctx, `SELECT seq FROM audit_head WHERE id = 1`).Scan(&n); err != nil {
		return 0, fmt.Errorf("audit length: %w", err)
	}
	return n, nil
}

// DeploymentRecord reads a deployment with its events but without its values, for the
// workers' own reports (no caller's rights apply).
func (db *DB) DeploymentRecord(ctx context.Context, id int64) (*gatehouse.Deployment, error) {
	d, err := findDeployment(ctx, db.r, id)
	if err != nil {
		return nil, err
	}
	if d.Events, err = deploymentEvents(ctx, db.r, id); err != nil {
		return nil, fmt.Errorf("deployment events: %w", err)
	}
	d.Values = ""
	return d, nil
}
