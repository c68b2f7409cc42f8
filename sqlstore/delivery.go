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
	sc, d, err := s.feed(ctx, q, metricsScope.days, metricsScope.leads, metricsScope.failures, metricsScope.undone)
	if err != nil {
		return nil, err
	}
	return d.DORA(sc.envNames), nil
}

// LeadTime implements gatehouse.MetricsService.
func (s *MetricsService) LeadTime(ctx context.Context, q gatehouse.MetricsQuery) (*gatehouse.LeadTimeReport, error) {
	sc, d, err := s.feed(ctx, q, metricsScope.changes, metricsScope.votes)
	if err != nil {
		return nil, err
	}
	if err := sc.drafts(ctx, s.db.r, d); err != nil {
		return nil, err
	}
	return d.LeadTime(sc.envNames), nil
}

// feed resolves the query and runs each reader over each environment counted.
func (s *MetricsService) feed(ctx context.Context, q gatehouse.MetricsQuery,
	readers ...func(metricsScope, context.Context, querier, metricsEnv, *gatehouse.Delivery) error) (metricsScope, *gatehouse.Delivery, error) {
	sc, err := s.resolve(ctx, q)
	if err != nil {
		return sc, nil, err
	}
	d := gatehouse.NewDelivery(sc.q)
	for _, e := range sc.envs {
		for _, read := range readers {
			if err := read(sc, ctx, s.db.r, e, d); err != nil {
				return sc, nil, fmt.Errorf("metrics of %s: %w", e.name, err)
			}
		}
	}
	return sc, d, nil
}

// metricsScope is a normalized query resolved against the database: the project and the
// environments counted, each with the apps the caller sees there.
type metricsScope struct {
	q         gatehouse.MetricsQuery
	projectID int64
	envs      []metricsEnv
	envNames  []string
	who       *gatehouse.Actor
}

// metricsEnv is an environment counted and the apps counted in it: every app (all) or
// those listed, the ones asked for that the caller sees.
type metricsEnv struct {
	id   int64
	name string
	all  bool
	apps []int64
}

// of is the condition on deployments (alias t) of the environment that a metrics query
// counts, with the period [from, to) of their end.
func (e metricsEnv) of(t string, args *sqlArgs, from, to time.Time) string {
	return t + ".environment_id = " + args.add(e.id) + " AND " + t + ".finished_at >= " + args.add(micro(from)) +
		" AND " + t + ".finished_at < " + args.add(micro(to)) + e.counted(t, args)
}

// counted is the condition that deployment t is of an app counted ("" when all are).
func (e metricsEnv) counted(t string, args *sqlArgs) string {
	if e.all {
		return ""
	}
	var ids []string
	for _, id := range e.apps {
		ids = append(ids, args.add(id))
	}
	if len(ids) == 0 {
		return " AND 1 = 0"
	}
	return " AND " + t + ".app_id IN (" + strings.Join(ids, ", ") + ")"
}

// resolve checks the query and what the caller sees of its scope; a project, app or
// environment the caller does not see is not found. What the caller sees becomes the apps
// each environment's queries count, so it is part of every query.
func (s *MetricsService) resolve(ctx context.Context, q gatehouse.MetricsQuery) (metricsScope, error) {
	q, err := q.Normalize(s.db.now())
	if err != nil {
		return metricsScope{}, err
	}
	r := s.db.r
	who, p, err := visibleProject(ctx, r, q.Project)
	if err != nil {
		return metricsScope{}, err
	}
	if q.App != "" {
		if _, _, err := visibleApp(ctx, r, q.Project, q.App); err != nil {
			return metricsScope{}, err
		}
	}
	type named struct {
		id   int64
		name string
	}
	scanNamed := func(row scanner) (named, error) {
		var n named
		return n, row.Scan(&n.id, &n.name)
	}
	envs, err := queryAll(ctx, r, scanNamed, `SELECT id, name FROM environments WHERE project_id = $1
		AND ((name = $2) OR ($2 = '' AND production = $3)) ORDER BY name`, p.ID, q.Environment, true)
	if err != nil {
		return metricsScope{}, fmt.Errorf("metrics environments: %w", err)
	}
	apps, err := queryAll(ctx, r, scanNamed, `SELECT id, name FROM apps WHERE project_id = $1 AND ($2 = '' OR name = $2) ORDER BY id`, p.ID, q.App)
	if err != nil {
		return metricsScope{}, fmt.Errorf("metrics apps: %w", err)
	}
	sc := metricsScope{q: q, projectID: p.ID, who: who, envNames: []string{}}
	for _, e := range envs {
		if !who.CanSee(gatehouse.Target{Project: q.Project, App: q.App, Env: e.name}) {
			continue
		}
		me := metricsEnv{id: e.id, name: e.name, all: q.App == ""}
		for _, a := range apps {
			if who.CanSee(gatehouse.Target{Project: q.Project, App: a.name, Env: e.name}) {
				me.apps = append(me.apps, a.id)
			} else {
				me.all = false
			}
		}
		sc.envs, sc.envNames = append(sc.envs, me), append(sc.envNames, e.name)
	}
	if q.Environment != "" && len(sc.envs) == 0 {
		return sc, gatehouse.NotFoundf("environment %q not found in project %q", q.Environment, q.Project)
	}
	return sc, nil
}

// days feeds d the period's deployments of e that ended, counted per UTC day and outcome.
func (sc metricsScope) days(ctx context.Context, q querier, e metricsEnv, d *gatehouse.Delivery) error {
	var args sqlArgs
	query := `SELECT d.finished_at / 86400000000, d.state, COUNT(*), SUM(CASE WHEN d.break_glass <> '' THEN 1 ELSE 0 END) FROM deployments d WHERE ` +
		e.of("d", &args, sc.q.From, sc.q.To) +
		` AND d.state IN ('succeeded', 'failed', 'rolled-back') GROUP BY 1, 2 ORDER BY 1`
	counts := map[int64]*gatehouse.DayCount{}
	var order []int64
	err := eachRow(ctx, q, query, args, func(row scanner) error {
		var dayN int64
		var state gatehouse.DeploymentState
		var n, glass int
		if err := row.Scan(&dayN, &state, &n, &glass); err != nil {
			return err
		}
		c := counts[dayN]
		if c == nil {
			c = &gatehouse.DayCount{Day: fromMicro(dayN * 86400000000)}
			counts[dayN], order = c, append(order, dayN)
		}
		switch state {
		case gatehouse.StateSucceeded:
			c.Succeeded = n
		case gatehouse.StateFailed:
			c.Failed = n
		default:
			c.RolledBack = n
		}
		c.BreakGlass += glass
		return nil
	})
	for _, k := range order {
		d.AddDay(*counts[k])
	}
	return err
}

// leads feeds d the lead times of the period's changes in e (what DORA reads of them).
func (sc metricsScope) leads(ctx context.Context, q querier, e metricsEnv, d *gatehouse.Delivery) error {
	var args sqlArgs
	query := `SELECT d.finished_at, d.commit_time, d.pushed_at FROM deployments d WHERE ` + e.of("d", &args, sc.q.From, sc.q.To) + ` AND ` + changed
	return eachRow(ctx, q, query, args, func(row scanner) error {
		var finished, pushed int64
		var commit sql.NullInt64
		if err := row.Scan(&finished, &commit, &pushed); err != nil {
			return err
		}
		d.AddLead(gatehouse.ChangeFact{FinishedAt: fromMicro(finished), CommitTime: timeOrZero(commit), PushedAt: fromMicro(pushed)})
		return nil
	})
}

// changed is true on a deployment that first brought its digest to its environment.
const changed = `d.state = 'succeeded' AND d.first_success = TRUE`

// changes feeds d the period's changes in e with every moment of their way there.
func (sc metricsScope) changes(ctx context.Context, q querier, e metricsEnv, d *gatehouse.Delivery) error {
	var args sqlArgs
	query := `SELECT d.finished_at, d.commit_time, d.pushed_at, d.created_at, COALESCE(d.started_at, d.created_at),
		r.created_at, COALESCE(r.approved_at, r.decided_at), COALESCE(r.policies, '')
		FROM deployments d LEFT JOIN approvals r ON r.id = d.approval_id WHERE ` + e.of("d", &args, sc.q.From, sc.q.To) + ` AND ` + changed
	return eachRow(ctx, q, query, args, func(row scanner) error {
		var finished, pushed, created, started int64
		var commit, requested, approved sql.NullInt64
		var policies string
		if err := row.Scan(&finished, &commit, &pushed, &created, &started, &requested, &approved, &policies); err != nil {
			return err
		}
		f := gatehouse.ChangeFact{FinishedAt: fromMicro(finished), CommitTime: timeOrZero(commit), PushedAt: fromMicro(pushed),
			CreatedAt: fromMicro(created), StartedAt: fromMicro(started)}
		if requested.Valid && approved.Valid {
			f.RequestedAt, f.ApprovedAt = fromMicro(requested.Int64), fromMicro(approved.Int64)
			var refs []gatehouse.PolicyRef
			if err := json.Unmarshal([]byte(policies), &refs); err != nil {
				return fmt.Errorf("approval policies: %w", err)
			}
			for _, p := range refs {
				f.Policies = append(f.Policies, p.Name)
			}
		}
		d.AddChange(f)
		return nil
	})
}

// nextSuccess is the end of the next success of the app of deployment t to its environment.
func nextSuccess(t string) string {
	return `(SELECT MIN(n.finished_at) FROM deployments n WHERE n.app_id = ` + t + `.app_id AND n.environment_id = ` + t + `.environment_id
		AND n.state = 'succeeded' AND n.finished_at > ` + t + `.finished_at)`
}

// failures feeds d the period's deployments in e that failed or were rolled back, with their
// restores.
func (sc metricsScope) failures(ctx context.Context, q querier, e metricsEnv, d *gatehouse.Delivery) error {
	var args sqlArgs
	query := `SELECT d.id, d.finished_at, ` + nextSuccess("d") + ` FROM deployments d WHERE ` + e.of("d", &args, sc.q.From, sc.q.To) +
		` AND d.state IN ('failed', 'rolled-back')`
	return eachRow(ctx, q, query, args, func(row scanner) error {
		f, err := scanEndFact(row)
		if err == nil {
			d.AddFailure(f)
		}
		return err
	})
}

// undone feeds d the successes in e that a rollback queued in or soon after the period undid,
// with the rollback's time (the failure window decides whether they failed, the period
// whether they count). No condition on their end: the deployments between a rollback and
// the one it restores are few, found by app and id.
func (sc metricsScope) undone(ctx context.Context, q querier, e metricsEnv, d *gatehouse.Delivery) error {
	var args sqlArgs
	w := sc.q.FailureWindow
	// CROSS JOIN: SQLite keeps the order, reading the few rollbacks first and then the
	// deployments each one undid (by app and id), not the period's deployments first.
	query := `SELECT s.id, s.finished_at, ` + nextSuccess("s") + `, r.created_at FROM deployments r CROSS JOIN deployments s
		WHERE s.app_id = r.app_id AND s.environment_id = r.environment_id AND s.id > r.rollback_of AND s.id < r.id
		AND r.kind = 'rollback' AND r.environment_id = ` + args.add(e.id) + ` AND r.created_at >= ` + args.add(micro(sc.q.From.Add(-w))) +
		` AND r.created_at < ` + args.add(micro(sc.q.To.Add(w))) + ` AND s.state = 'succeeded'` + e.counted("s", &args)
	return eachRow(ctx, q, query, args, func(row scanner) error {
		var u gatehouse.UndoFact
		var queued int64
		var err error
		u.EndFact, err = scanEndFact(row, &queued)
		u.RollbackQueued = fromMicro(queued)
		if err == nil {
			d.AddUndo(u)
		}
		return err
	})
}

func scanEndFact(row scanner, more ...any) (gatehouse.EndFact, error) {
	var f gatehouse.EndFact
	var finished int64
	var restored sql.NullInt64
	err := row.Scan(append([]any{&f.ID, &finished, &restored}, more...)...)
	f.FinishedAt, f.RestoredAt = fromMicro(finished), timeOrZero(restored)
	return f, err
}

func timeOrZero(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromMicro(n.Int64)
}

// votes feeds d the votes on the requests of the period's changes in e.
func (sc metricsScope) votes(ctx context.Context, q querier, e metricsEnv, d *gatehouse.Delivery) error {
	var args sqlArgs
	query := `SELECT v.voter, v.at - r.created_at FROM deployments d JOIN approvals r ON r.id = d.approval_id
		JOIN ballot_votes v ON v.flow = 'request' AND v.ballot_id = r.id WHERE ` + e.of("d", &args, sc.q.From, sc.q.To) + ` AND ` + changed
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
	for _, e := range sc.envs {
		ids = append(ids, args.add(e.id))
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
	query += " AND " + seesSQL(sc.who.Grants, &args, at("p.name", "ap.name", "e.name"))
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
