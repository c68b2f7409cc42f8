package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// HistorySpec describes a past to write: Deployments of the Apps of Project to Environment
// spread over [From, To), about Approved of them through an approval request under Policy
// voted by Votes (at least one) of Approvers, a Failures share failed or rolled back, a
// Rollbacks share of the successes undone by a rollback an hour or two later. Seed makes it
// repeatable.
type HistorySpec struct {
	Project     string
	Apps        []string
	Environment string
	From, To    time.Time
	Deployments int
	Approved    float64
	Failures    float64
	Rollbacks   float64
	Policy      string
	Approvers   []string
	Votes       int
	Seed        uint64
}

// SeedHistory writes a made-up past of deployments, their artifacts, approval requests and
// votes straight into the tables, for the demo and the benchmarks: the deployments happened
// nowhere, no gate judged them, and the audit trail records one event saying so. Its
// artifacts are written retracted, so none of them can be deployed or rolled back to: a
// made-up approval never lets a real image through. Steps keep their order (commit, push,
// request, vote, queue, start, end) and releases never overlap.
func (db *DB) SeedHistory(ctx context.Context, spec HistorySpec) error {
	if len(spec.Apps) == 0 || spec.Deployments <= 0 || !spec.From.Before(spec.To) || (spec.Approved > 0 && len(spec.Approvers) == 0) {
		return gatehouse.Invalidf("history", "expected apps, a positive number of deployments, a period and approvers for approvals")
	}
	r := rand.New(rand.NewPCG(spec.Seed, 1))
	policies, err := json.Marshal([]gatehouse.PolicyRef{{Name: spec.Policy, Version: 1}})
	if err != nil {
		return err
	}
	err = db.write(ctx, func(tx *Tx) error {
		per := spec.Deployments / len(spec.Apps)
		gap := spec.To.Sub(spec.From) / time.Duration(per+1)
		for ai, app := range spec.Apps {
			var appID, envID int64
			var cluster, namespace, values string
			err := tx.QueryRowContext(ctx, `SELECT a.id, e.id, c.name, e.namespace, a.values_yaml FROM apps a JOIN projects p ON p.id = a.project_id
				JOIN environments e ON e.project_id = p.id AND e.name = $3 JOIN clusters c ON c.id = e.cluster_id
				WHERE p.name = $1 AND a.name = $2`, spec.Project, app, spec.Environment).Scan(&appID, &envID, &cluster, &namespace, &values)
			if err != nil {
				return notFoundOr(err, "app %q or environment %q not found in project %q", app, spec.Environment, spec.Project)
			}
			w := &seedWriter{tx: tx, spec: spec, policies: string(policies), appID: appID, envID: envID, cluster: cluster, namespace: namespace, values: values,
				release: gatehouse.ReleaseName(app), repo: "registry.example.com/" + spec.Project + "/" + app}
			if err := w.prepare(); err != nil {
				return err
			}
			var good []seedDeployment
			end := spec.From
			for i := 0; i < per; i++ {
				t := spec.From.Add(gap*time.Duration(i) + time.Duration(r.Int64N(int64(gap/2))))
				if t.Before(end) {
					t = end.Add(time.Minute)
				}
				if !t.Before(spec.To) {
					break
				}
				d, err := w.deploy(r, fmt.Sprintf("%04d%08d", ai, i), t)
				if err != nil {
					return err
				}
				if d.state == gatehouse.StateSucceeded && len(good) > 0 && r.Float64() < spec.Rollbacks {
					if d, err = w.rollback(good[len(good)-1], d.end.Add(time.Duration(30+r.IntN(90))*time.Minute)); err != nil {
						return err
					}
				} else if d.state == gatehouse.StateSucceeded {
					good = append(good, d)
				}
				end = d.end
			}
			w.close()
		}
		return tx.audit(change{action: "history.seed", resource: "project/" + spec.Project, target: gatehouse.Target{Project: spec.Project},
			details: map[string]any{"deployments": spec.Deployments, "apps": len(spec.Apps), "environment": spec.Environment,
				"from": spec.From, "to": spec.To, "note": "made-up history written for a demo or a benchmark; no gate judged it"}})
	})
	if err != nil {
		return err
	}
	// After a bulk load PostgreSQL's planner needs fresh statistics (autovacuum takes them a
	// little later). SQLite's planner does without, as Gatehouse's own databases do.
	if db.dialect.name == postgres.name {
		if _, err := db.w.ExecContext(ctx, `ANALYZE`); err != nil {
			return fmt.Errorf("analyze after seeding: %w", err)
		}
	}
	return nil
}

type seedWriter struct {
	tx                                                   *Tx
	spec                                                 HistorySpec
	policies                                             string
	appID, envID                                         int64
	cluster, namespace, release, repo, values            string
	artifact, approval, approved, vote, link, deployment *sql.Stmt
}

// prepare readies the writer's statements: a made-up year is a hundred thousand rows.
func (w *seedWriter) prepare() error {
	for _, s := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&w.artifact, `INSERT INTO artifacts (app_id, repository, digest, commit_sha, commit_time, builder, created_by, created_at,
			retracted_at, retracted_by) VALUES ($1, $2, $3, $4, $5, 'ci', 'ci', $6, $7, 'history.seed') RETURNING id`},
		{&w.approval, `INSERT INTO approvals (app_id, environment_id, stage, artifact_id, image, digest, policies, requester, requester_person,
			state, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'ci', '', 'consumed', $8) RETURNING id`},
		{&w.approved, `UPDATE approvals SET approved_at = $1, decided_at = $1 WHERE id = $2`},
		{&w.vote, `INSERT INTO ballot_votes (flow, ballot_id, version, voter, approve, via, at) VALUES ('request', $1, 1, $2, $3, 'session', $4)`},
		{&w.link, `UPDATE approvals SET deployment_id = $1 WHERE id = $2`},
		{&w.deployment, `INSERT INTO deployments (app_id, environment_id, stage, cluster, namespace, release_name, artifact_id,
			image, digest, config_revision, values_yaml, chart, hooks, timeout_ms, auto_rollback, kind, rollback_of, state, triggered_by,
			created_at, started_at, finished_at, approval_id, pre_approved, commit_time, pushed_at, first_success) VALUES ($1, $2, $3, $4, $5, $6, $7,
			$8, $9, 1, $18, '{}', '{}', 300000, TRUE, $10, $11, $12, 'ci', $13, $14, $15, $16, $17, $19, $20, $21) RETURNING id`},
	} {
		st, err := w.tx.Tx.PrepareContext(w.tx.ctx, s.query)
		if err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		*s.dst = st
	}
	return nil
}

func (w *seedWriter) close() {
	for _, st := range []*sql.Stmt{w.artifact, w.approval, w.approved, w.vote, w.link, w.deployment} {
		st.Close()
	}
}

type seedDeployment struct {
	id, artifact int64
	digest       string
	commit       any // the commit time, or nil
	pushed       time.Time
	state        gatehouse.DeploymentState
	end          time.Time
}

// deploy writes one artifact's way to the environment, from its commit before t on.
func (w *seedWriter) deploy(r *rand.Rand, serial string, t time.Time) (seedDeployment, error) {
	mins := func(lo, hi int) time.Duration { return time.Duration(lo+r.IntN(hi-lo+1)) * time.Minute }
	ctx := w.tx.ctx
	push := t.Add(mins(5, 40))
	d := seedDeployment{digest: fmt.Sprintf("sha256:%064s", serial), pushed: push}
	var commit any
	if r.IntN(10) > 0 {
		commit = micro(t)
	}
	d.commit = commit
	if err := w.artifact.QueryRowContext(ctx, w.appID, w.repo, d.digest, serial, commit, micro(push), micro(w.tx.now)).Scan(&d.artifact); err != nil {
		return d, fmt.Errorf("seed artifact: %w", err)
	}
	queue := push.Add(mins(0, 20))
	var approval any
	if r.Float64() < w.spec.Approved {
		requested := push.Add(mins(1, 30))
		var id int64
		if err := w.approval.QueryRowContext(ctx, w.appID, w.envID, w.spec.Environment, d.artifact, w.repo+"@"+d.digest, d.digest, w.policies, micro(requested)).Scan(&id); err != nil {
			return d, fmt.Errorf("seed approval: %w", err)
		}
		voted := requested
		for _, k := range r.Perm(len(w.spec.Approvers))[:min(max(w.spec.Votes, 1), len(w.spec.Approvers))] {
			voted = voted.Add(mins(5, 120))
			if _, err := w.vote.ExecContext(ctx, id, w.spec.Approvers[k], true, micro(voted)); err != nil {
				return d, fmt.Errorf("seed vote: %w", err)
			}
		}
		approved := voted
		if _, err := w.approved.ExecContext(ctx, micro(approved), id); err != nil {
			return d, fmt.Errorf("seed approval: %w", err)
		}
		approval, queue = id, approved.Add(mins(0, 30))
	}
	d.state = gatehouse.StateSucceeded
	if f := r.Float64(); f < w.spec.Failures/2 {
		d.state = gatehouse.StateFailed
	} else if f < w.spec.Failures {
		d.state = gatehouse.StateRolledBack
	}
	var err error
	d.id, d.end, err = w.insert(d, gatehouse.KindDeploy, nil, approval, queue, queue.Add(mins(0, 2)), mins(1, 12))
	if err == nil && approval != nil {
		_, err = w.link.ExecContext(ctx, d.id, approval)
	}
	return d, err
}

// rollback writes a rollback to an earlier deployment, queued at t.
func (w *seedWriter) rollback(to seedDeployment, t time.Time) (seedDeployment, error) {
	back := seedDeployment{artifact: to.artifact, digest: to.digest, commit: to.commit, pushed: to.pushed, state: gatehouse.StateSucceeded}
	var err error
	back.id, back.end, err = w.insert(back, gatehouse.KindRollback, to.id, nil, t, t.Add(time.Minute), 3*time.Minute)
	return back, err
}

func (w *seedWriter) insert(d seedDeployment, kind gatehouse.DeploymentKind, rollbackOf, approval any, queued, started time.Time, took time.Duration) (int64, time.Time, error) {
	end := started.Add(took)
	var id int64
	err := w.deployment.QueryRowContext(w.tx.ctx, w.appID, w.envID, w.spec.Environment, w.cluster, w.namespace, w.release,
		d.artifact, w.repo+"@"+d.digest, d.digest, kind, rollbackOf, d.state, micro(queued), micro(started), micro(end), approval, rollbackOf != nil, w.values,
		d.commit, micro(d.pushed), kind == gatehouse.KindDeploy && d.state == gatehouse.StateSucceeded).Scan(&id)
	if err != nil {
		return 0, end, fmt.Errorf("seed deployment: %w", err)
	}
	return id, end, nil
}
