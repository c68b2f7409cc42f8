package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// MetricsService implements gatehouse.MetricsService: delivery metrics read in a few indexed
// queries whose rows stream through gatehouse.Delivery, one release at a time.
type MetricsService struct{ db *DB }

// NewMetricsService returns the metrics service of db.
func NewMetricsService(db *DB) *MetricsService { return &MetricsService{db: db} }

// DORA implements gatehouse.MetricsService.
func (s *MetricsService) DORA(ctx context.Context, q gatehouse.MetricsQuery) (*gatehouse.DORAReport, error) {
	sc, d, err := s.run(ctx, q)
	if err != nil {
		return nil, err
	}
	return d.DORA(sc.envNames), nil
}

// LeadTime implements gatehouse.MetricsService.
func (s *MetricsService) LeadTime(ctx context.Context, q gatehouse.MetricsQuery) (*gatehouse.LeadTimeReport, error) {
	sc, d, err := s.run(ctx, q)
	if err != nil {
		return nil, err
	}
	if err := sc.votes(ctx, s.db.r, d); err != nil {
		return nil, err
	}
	if err := sc.drafts(ctx, s.db.r, d); err != nil {
		return nil, err
	}
	return d.LeadTime(sc.envNames), nil
}

// metricsScope is a normalized query resolved against the database: the project, the
// environments counted, and the caller's visibility as SQL.
type metricsScope struct {
	q         gatehouse.MetricsQuery
	projectID int64
	envIDs    []int64
	envNames  []string
	who       *gatehouse.Actor
}

// where is the condition every metrics query shares, over d (deployments), ap (apps), p
// (projects) and e (environments): the project, the app asked for, the environments
// counted, and what the caller sees. It appends its arguments to args.
func (sc metricsScope) where(args *sqlArgs) string {
	var ids []string
	for _, id := range sc.envIDs {
		ids = append(ids, args.add(id))
	}
	w := "ap.project_id = " + args.add(sc.projectID) + " AND d.environment_id IN (" + strings.Join(ids, ", ") + ")"
	if sc.q.App != "" {
		w += " AND ap.name = " + args.add(sc.q.App)
	}
	return w + " AND " + seesSQL(sc.who.Grants, args, "p.name", "ap.name", "e.name")
}

// resolve checks the query and what the caller sees of its scope; a project, app or
// environment the caller does not see is not found.
func (s *MetricsService) resolve(ctx context.Context, q gatehouse.MetricsQuery) (metricsScope, error) {
	q, err := q.Normalize(s.db.now())
	if err != nil {
		return metricsScope{}, err
	}
	who, p, err := visibleProject(ctx, s.db.r, q.Project)
	if err != nil {
		return metricsScope{}, err
	}
	if q.App != "" {
		if _, _, err := visibleApp(ctx, s.db.r, q.Project, q.App); err != nil {
			return metricsScope{}, err
		}
	}
	sc := metricsScope{q: q, projectID: p.ID, who: who, envNames: []string{}}
	rows, err := s.db.r.QueryContext(ctx, `SELECT id, name FROM environments WHERE project_id = $1
		AND ((name = $2) OR ($2 = '' AND production = $3)) ORDER BY name`, p.ID, q.Environment, true)
	if err != nil {
		return sc, fmt.Errorf("metrics environments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return sc, err
		}
		if who.CanSee(gatehouse.Target{Project: q.Project, App: q.App, Env: name}) {
			sc.envIDs, sc.envNames = append(sc.envIDs, id), append(sc.envNames, name)
		}
	}
	if err := rows.Err(); err != nil {
		return sc, err
	}
	if q.Environment != "" && len(sc.envIDs) == 0 {
		return sc, gatehouse.NotFoundf("environment %q not found in project %q", q.Environment, q.Project)
	}
	return sc, nil
}

// run streams the period's deployments (and the failure window after it) through a
// Delivery, then finds the restores that fell after them.
func (s *MetricsService) run(ctx context.Context, q gatehouse.MetricsQuery) (metricsScope, *gatehouse.Delivery, error) {
	sc, err := s.resolve(ctx, q)
	if err != nil {
		return sc, nil, err
	}
	q = sc.q
	if len(sc.envIDs) == 0 {
		return sc, gatehouse.NewDelivery(q, nil), nil
	}
	r := s.db.r
	rollbacks, err := sc.rollbacks(ctx, r)
	if err != nil {
		return sc, nil, err
	}
	d := gatehouse.NewDelivery(q, rollbacks)
	// One environment at a time, in the order deployments ended: an index range each, with
	// no sort.
	for _, env := range sc.envIDs {
		one := sc
		one.envIDs = []int64{env}
		var args sqlArgs
		query := deploymentFactsSelect + ` WHERE ` + one.where(&args) + ` AND d.finished_at >= ` + args.add(micro(q.From)) +
			` AND d.finished_at < ` + args.add(micro(q.To.Add(q.FailureWindow))) + ` ORDER BY d.finished_at, d.id`
		err = eachRow(ctx, r, query, args, func(row scanner) error {
			f, err := scanDeploymentFact(row)
			if err == nil {
				d.Add(f)
			}
			return err
		})
		if err != nil {
			return sc, nil, fmt.Errorf("metrics deployments: %w", err)
		}
	}
	for _, f := range d.Pending() {
		var at sql.NullInt64
		err := r.QueryRowContext(ctx, `SELECT d.finished_at FROM deployments d JOIN apps ap ON ap.id = d.app_id
			JOIN environments e ON e.id = d.environment_id WHERE ap.project_id = $1 AND ap.name = $2 AND e.name = $3
			AND d.finished_at > $4 AND d.state = 'succeeded' ORDER BY d.finished_at LIMIT 1`, sc.projectID, f.App, f.Environment, micro(f.FinishedAt)).Scan(&at)
		if err == sql.ErrNoRows || (err == nil && !at.Valid) {
			continue
		} else if err != nil {
			return sc, nil, fmt.Errorf("metrics restore: %w", err)
		}
		d.Restore(f, fromMicro(at.Int64))
	}
	return sc, d, nil
}

const deploymentFactsFrom = ` FROM deployments d JOIN apps ap ON ap.id = d.app_id JOIN projects p ON p.id = ap.project_id
	JOIN environments e ON e.id = d.environment_id`

// firstSuccess is true on the first deployment of its digest to its environment that
// succeeded.
const firstSuccess = `d.state = 'succeeded' AND NOT EXISTS (SELECT 1 FROM deployments f WHERE f.app_id = d.app_id
	AND f.environment_id = d.environment_id AND f.digest = d.digest AND f.state = 'succeeded' AND f.id < d.id)`

const deploymentFactsSelect = `SELECT d.id, ap.name, e.name, d.kind, d.state, COALESCE(d.rollback_of, 0),
	CASE WHEN ` + firstSuccess + ` THEN 1 ELSE 0 END,
	d.created_at, COALESCE(d.started_at, d.created_at), d.finished_at, art.commit_time, art.created_at,
	r.created_at, COALESCE(r.approved_at, r.decided_at), COALESCE(r.policies, '')` + deploymentFactsFrom + `
	JOIN artifacts art ON art.id = d.artifact_id LEFT JOIN approvals r ON r.id = d.approval_id`

func scanDeploymentFact(row scanner) (gatehouse.DeploymentFact, error) {
	var f gatehouse.DeploymentFact
	var first int
	var created, started, finished, pushed int64
	var commit, requested, approved sql.NullInt64
	var policies string
	if err := row.Scan(&f.ID, &f.App, &f.Environment, &f.Kind, &f.State, &f.RollbackOf, &first, &created, &started, &finished,
		&commit, &pushed, &requested, &approved, &policies); err != nil {
		return f, err
	}
	f.FirstOfDigest = first == 1
	f.CreatedAt, f.StartedAt, f.FinishedAt, f.PushedAt = fromMicro(created), fromMicro(started), fromMicro(finished), fromMicro(pushed)
	if commit.Valid {
		f.CommitTime = fromMicro(commit.Int64)
	}
	if requested.Valid && approved.Valid {
		f.RequestedAt, f.ApprovedAt = fromMicro(requested.Int64), fromMicro(approved.Int64)
		var refs []gatehouse.PolicyRef
		if err := json.Unmarshal([]byte(policies), &refs); err != nil {
			return f, fmt.Errorf("approval policies of deployment %d: %w", f.ID, err)
		}
		for _, p := range refs {
			f.Policies = append(f.Policies, p.Name)
		}
	}
	return f, nil
}

// rollbacks reads the rollbacks that can undo a deployment that ended in the period.
func (sc metricsScope) rollbacks(ctx context.Context, q querier) ([]gatehouse.RollbackFact, error) {
	var args sqlArgs
	query := `SELECT d.id, ap.name, e.name, COALESCE(d.rollback_of, 0), d.created_at` + deploymentFactsFrom + ` WHERE ` + sc.where(&args) +
		` AND d.kind = 'rollback' AND d.created_at >= ` + args.add(micro(sc.q.From.Add(-sc.q.FailureWindow))) +
		` AND d.created_at < ` + args.add(micro(sc.q.To.Add(2*sc.q.FailureWindow)))
	return queryAll(ctx, q, func(row scanner) (gatehouse.RollbackFact, error) {
		var r gatehouse.RollbackFact
		var created int64
		err := row.Scan(&r.ID, &r.App, &r.Environment, &r.RollbackOf, &created)
		r.CreatedAt = fromMicro(created)
		return r, err
	}, query, args...)
}

// votes feeds d the votes on the requests of the changes counted.
func (sc metricsScope) votes(ctx context.Context, q querier, d *gatehouse.Delivery) error {
	if len(sc.envIDs) == 0 {
		return nil
	}
	var args sqlArgs
	query := `SELECT v.voter, v.at - r.created_at` + deploymentFactsFrom + ` JOIN approvals r ON r.id = d.approval_id
		JOIN ballot_votes v ON v.flow = 'request' AND v.ballot_id = r.id WHERE ` + sc.where(&args) + ` AND ` + firstSuccess +
		` AND d.finished_at >= ` + args.add(micro(sc.q.From)) + ` AND d.finished_at < ` + args.add(micro(sc.q.To))
	return eachRow(ctx, q, query, args, func(row scanner) error {
		var v gatehouse.VoteFact
		var wait int64
		if err := row.Scan(&v.Voter, &wait); err != nil {
			return err
		}
		v.Wait = time.Duration(wait) * time.Microsecond
		d.AddVote(v)
		return nil
	})
}

// drafts feeds d the drafts of the scope published in the period that were proposed and
// approved: those of an app (and not of one environment) count wherever the app is counted.
func (sc metricsScope) drafts(ctx context.Context, q querier, d *gatehouse.Delivery) error {
	var args sqlArgs
	var ids []string
	for _, id := range sc.envIDs {
		ids = append(ids, args.add(id))
	}
	envs := "e.id IS NULL"
	if len(ids) > 0 {
		envs = "(e.id IS NULL OR e.id IN (" + strings.Join(ids, ", ") + "))"
	}
	query := `SELECT x.kind, x.proposed_at, x.approved_at, x.published_at FROM drafts x JOIN projects p ON p.id = x.project_id
		LEFT JOIN apps ap ON ap.id = x.app_id LEFT JOIN environments e ON e.id = x.environment_id
		WHERE x.state = 'published' AND x.project_id = ` + args.add(sc.projectID) + ` AND x.published_at >= ` + args.add(micro(sc.q.From)) +
		` AND x.published_at < ` + args.add(micro(sc.q.To)) + ` AND x.proposed_at IS NOT NULL AND x.approved_at IS NOT NULL AND ` + envs
	if sc.q.App != "" {
		query += " AND ap.name = " + args.add(sc.q.App)
	}
	if sc.q.Environment != "" {
		query += " AND e.id IS NOT NULL"
	}
	query += " AND " + seesSQL(sc.who.Grants, &args, "p.name", "ap.name", "e.name")
	return eachRow(ctx, q, query, args, func(row scanner) error {
		var f gatehouse.DraftFact
		var proposed, approved, published int64
		if err := row.Scan(&f.Kind, &proposed, &approved, &published); err != nil {
			return err
		}
		f.ProposedAt, f.ApprovedAt, f.PublishedAt = fromMicro(proposed), fromMicro(approved), fromMicro(published)
		d.AddDraft(f)
		return nil
	})
}
