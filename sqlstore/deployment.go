package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// Queue runs deployments. The store hands it each new deployment inside the transaction that
// creates the deployment, so a deployment exists if and only if its job does.
type Queue interface {
	EnqueueDeployment(ctx context.Context, tx *sql.Tx, id int64) error
	EnqueueNotification(ctx context.Context, tx *sql.Tx, n gatehouse.Notification) error
}

// SetQueue connects the store to the job queue; until it is set, deployments stay queued.
func (db *DB) SetQueue(q Queue) { db.queue = q }

// DeploymentService implements gatehouse.DeploymentService.
type DeploymentService struct{ db *DB }

// NewDeploymentService returns the deployment service of db.
func NewDeploymentService(db *DB) *DeploymentService { return &DeploymentService{db: db} }

const deploymentSelect = `SELECT d.id, p.name, a.name, e.name, d.stage, d.cluster, d.namespace, d.release_name, d.image, d.digest,
	d.config_revision, d.values_yaml, d.config_changes, d.kind, d.rollback_of, d.state, d.cause, d.helm_revision, d.triggered_by,
	d.break_glass, d.created_at, d.started_at, d.finished_at
	FROM deployments d JOIN apps a ON a.id = d.app_id JOIN projects p ON p.id = a.project_id JOIN environments e ON e.id = d.environment_id`

func scanDeployment(row scanner) (*gatehouse.Deployment, error) {
	var d gatehouse.Deployment
	var rollbackOf, started, finished sql.NullInt64
	var created int64
	var changes string
	if err := row.Scan(&d.ID, &d.Project, &d.App, &d.Environment, &d.Stage, &d.Cluster, &d.Namespace, &d.Release, &d.Image, &d.Digest,
		&d.ConfigRevision, &d.Values, &changes, &d.Kind, &rollbackOf, &d.State, &d.Cause, &d.HelmRevision, &d.TriggeredBy,
		&d.BreakGlass, &created, &started, &finished); err != nil {
		return nil, err
	}
	d.RollbackOf = rollbackOf.Int64
	if err := json.Unmarshal([]byte(changes), &d.ConfigChanges); err != nil {
		return nil, fmt.Errorf("deployment %d config changes: %w", d.ID, err)
	}
	d.CreatedAt, d.StartedAt, d.FinishedAt = fromMicro(created), fromNullMicro(started), fromNullMicro(finished)
	return &d, nil
}

func findDeployment(ctx context.Context, q querier, id int64) (*gatehouse.Deployment, error) {
	d, err := scanDeployment(q.QueryRowContext(ctx, deploymentSelect+` WHERE d.id = $1`, id))
	if err != nil {
		return nil, notFoundOr(err, "deployment %d not found", id)
	}
	return d, nil
}

func scanEvent(row scanner) (gatehouse.DeploymentEvent, error) {
	var e gatehouse.DeploymentEvent
	var at int64
	err := row.Scan(&e.Seq, &at, &e.Step, &e.Message)
	e.Time = fromMicro(at)
	return e, err
}

func deploymentEvents(ctx context.Context, q querier, id int64) ([]gatehouse.DeploymentEvent, error) {
	return queryAll(ctx, q, scanEvent, `SELECT seq, at, step, message FROM deployment_events WHERE deployment_id = $1 ORDER BY seq`, id)
}

// newDeployment is what a new deployment is made of.
type newDeployment struct {
	app        *gatehouse.App
	env        *gatehouse.Environment
	stage      gatehouse.Stage
	artifact   *gatehouse.Artifact
	values     string            // full snapshot (secrets as marks); empty means compute from the app's current config
	secrets    map[string]string // the secret settings, with values
	revision   int64
	kind       gatehouse.DeploymentKind
	rollbackOf int64
	by         string
	pass       passage     // how it got through its stage's gate
	how        application // the draft that asked for it, if any
	// manual says a person asks for it now: closed windows refuse it. An automatic one
	// waits for them instead.
	manual bool
	wait   int64       // the wait it resumes, if any
	glass  *breakGlass // set when a person breaks the glass for it
}

// createDeployment inserts a queued deployment, hands it to the queue and audits it — if the
// windows of its environment let it start now. When they do not, one a person asks for is
// refused, saying when they open; an automatic one waits for them, and createDeployment
// returns a *waiting error.
func (tx *Tx) createDeployment(n newDeployment) (*gatehouse.Deployment, error) {
	v, err := tx.windowVerdict(n.app, n.env)
	if err != nil {
		return nil, err
	}
	switch {
	case !v.Open && n.glass != nil:
		n.glass.windows = v.By
	case !v.Open:
		if n.manual {
			return nil, gatehouse.Errorf(gatehouse.KindPreconditionFailed, "environment %s of app %s/%s is %s", n.env.Name, n.app.Project, n.app.Name, v.Text())
		}
		return nil, tx.waitForWindow(n, v)
	}
	glassReason := ""
	if n.glass != nil {
		glassReason = n.glass.reason
	}
	if n.values == "" && n.kind == gatehouse.KindDeploy {
		ec, err := tx.db.effectiveConfig(tx.ctx, tx, n.app, n.env)
		if err != nil {
			return nil, err
		}
		n.values = gatehouse.RenderValues(gatehouse.MergeValues(ec.values, tx.db.secretMarks(n.app.ID, n.env.ID, ec.secrets), gatehouse.ImageValues(n.artifact)))
		n.secrets, n.revision = ec.secrets, n.app.ConfigRevision
	}
	changes, prevRevision, err := tx.configSinceLast(n)
	if err != nil {
		return nil, err
	}
	if err := tx.pinOnFirstUse(n.app); err != nil {
		return nil, err
	}
	chart, hooks, err := encodeChartHooks(n.app.Chart, n.app.Hooks)
	if err != nil {
		return nil, err
	}
	scope := objectScope{AllowClusterScoped: n.env.AllowClusterScoped, AllowNamespaces: n.env.AllowNamespaces}
	d := &gatehouse.Deployment{Project: n.app.Project, App: n.app.Name, Environment: n.env.Name, Stage: n.stage.Name,
		Cluster: n.env.Cluster, Namespace: n.env.Namespace, Release: gatehouse.ReleaseName(n.app.Name),
		Image: n.artifact.Reference(), Digest: n.artifact.Digest, ConfigRevision: n.revision, Values: n.values, ConfigChanges: changes,
		Kind: n.kind, RollbackOf: n.rollbackOf, State: gatehouse.StateQueued, TriggeredBy: n.by, BreakGlass: glassReason, CreatedAt: tx.now}
	var rollbackOf, approval sql.NullInt64
	if n.rollbackOf != 0 {
		rollbackOf = sql.NullInt64{Int64: n.rollbackOf, Valid: true}
	}
	if n.pass.approval != nil {
		approval = sql.NullInt64{Int64: n.pass.approval.ID, Valid: true}
	}
	err = tx.QueryRowContext(tx.ctx, `INSERT INTO deployments (app_id, environment_id, stage, cluster, namespace, release_name,
		artifact_id, image, digest, config_revision, values_yaml, chart, hooks, timeout_ms, auto_rollback, kind, rollback_of, state,
		triggered_by, created_at, approval_id, pre_approved, config_changes, object_scope, commit_time, pushed_at, break_glass)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27) RETURNING id`,
		n.app.ID, n.env.ID, d.Stage, d.Cluster, d.Namespace, d.Release, n.artifact.ID, d.Image, d.Digest, d.ConfigRevision, d.Values,
		chart, hooks, n.stage.TimeoutDuration().Milliseconds(), n.stage.AutoRollback, d.Kind, rollbackOf, d.State, d.TriggeredBy,
		micro(tx.now), approval, n.pass.preApproved, jsonText(changes), jsonText(scope), nullMicro(n.artifact.CommitTime), micro(n.artifact.CreatedAt),
		glassReason).Scan(&d.ID)
	if err != nil {
		return nil, fmt.Errorf("insert deployment: %w", err)
	}
	if len(n.secrets) > 0 {
		sealed := tx.db.secrets.Seal([]byte(gatehouse.RenderSettings(n.secrets, false)), deploymentSecretsAAD(d.ID))
		if _, err := tx.ExecContext(tx.ctx, `UPDATE deployments SET secrets_sealed = $1 WHERE id = $2`, sealed, d.ID); err != nil {
			return nil, fmt.Errorf("seal deployment secrets: %w", err)
		}
	}
	if err := tx.addEvent(d.ID, "queued", fmt.Sprintf("%s of %s to %s by %s", d.Kind, d.Image, d.Environment, d.TriggeredBy)); err != nil {
		return nil, err
	}
	if len(changes) > 0 {
		if err := tx.addEvent(d.ID, "queued", configChangedText(changes, prevRevision, d.ConfigRevision)); err != nil {
			return nil, err
		}
	}
	if q := tx.db.queue; q != nil {
		if err := q.EnqueueDeployment(tx.ctx, tx.Tx, d.ID); err != nil {
			return nil, fmt.Errorf("enqueue deployment: %w", err)
		}
	}
	details := map[string]any{}
	switch {
	case n.pass.approval != nil:
		details["approval"] = n.pass.approval.ID
		details["approvers"] = n.pass.approval.Approvers()
	case n.pass.preApproved:
		details["pre_approved_rollback"] = true
	}
	if n.how.published() {
		details = n.how.details(details)
	}
	if err := tx.audit(change{action: "deployment.create", resource: fmt.Sprintf("deployment/%d", d.ID), target: d.Target(),
		after: deploymentAudit(d), details: nonEmptyAny(details)}); err != nil {
		return nil, err
	}
	if n.glass != nil {
		if err := tx.brokeGlass(d, n.app, n.env, *n.glass); err != nil {
			return nil, err
		}
	}
	if n.pass.approval != nil {
		return d, tx.consume(n.pass.approval, d.ID)
	}
	return d, nil
}

func nonEmptyAny(m map[string]any) any {
	if len(m) == 0 {
		return nil
	}
	return m
}

// deploymentAudit is what the trail keeps of a deployment: everything but the values, which
// may hold secrets (the deployment row keeps them, and diffs mask them).
func deploymentAudit(d *gatehouse.Deployment) map[string]any {
	return map[string]any{"id": d.ID, "environment": d.Environment, "stage": d.Stage, "image": d.Image, "digest": d.Digest,
		"config_revision": d.ConfigRevision, "kind": d.Kind, "rollback_of": d.RollbackOf, "state": d.State,
		"cause": d.Cause, "helm_revision": d.HelmRevision, "triggered_by": d.TriggeredBy}
}

func (tx *Tx) addEvent(id int64, step, message string) error {
	_, err := tx.ExecContext(tx.ctx, `INSERT INTO deployment_events (deployment_id, seq, at, step, message)
		VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM deployment_events WHERE deployment_id = $1), $2, $3, $4)`,
		id, micro(tx.now), step, message)
	if err != nil {
		return fmt.Errorf("deployment event: %w", err)
	}
	return nil
}

// deployable loads what a deployment to env needs and checks the caller may deploy there.
func deployable(ctx context.Context, tx *Tx, project, app, env string) (*gatehouse.App, *gatehouse.Environment, gatehouse.Stage, error) {
	who, a, err := visibleApp(ctx, tx, project, app)
	if err != nil {
		return nil, nil, gatehouse.Stage{}, err
	}
	e, err := findEnvironment(ctx, tx, project, env)
	if err != nil {
		return nil, nil, gatehouse.Stage{}, err
	}
	if err := who.Require(gatehouse.ActionDeploy, gatehouse.Target{Project: project, App: app, Env: env}); err != nil {
		return nil, nil, gatehouse.Stage{}, err
	}
	p, err := readPipeline(ctx, tx, a)
	if err != nil {
		return nil, nil, gatehouse.Stage{}, err
	}
	st := p.StageFor(env)
	if st == nil {
		return nil, nil, gatehouse.Stage{}, gatehouse.Errorf(gatehouse.KindPreconditionFailed,
			"environment %q is not a stage of app %s's pipeline: add it with `gatehouse pipeline set`", env, app)
	}
	return a, e, *st, nil
}

// Deploy implements gatehouse.DeploymentService.
func (s *DeploymentService) Deploy(ctx context.Context, project, app string, in gatehouse.DeploymentCreate) (*gatehouse.Deployment, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var d *gatehouse.Deployment
	err := s.db.write(ctx, func(tx *Tx) error {
		a, e, st, err := deployable(ctx, tx, project, app, in.Environment)
		if err != nil {
			return err
		}
		art, err := findArtifact(ctx, tx, a, in.Digest)
		if err != nil {
			return err
		}
		if art.RetractedAt != nil {
			return gatehouse.Errorf(gatehouse.KindPreconditionFailed, "artifact %s was retracted by %s: it cannot be deployed", art.Digest, art.RetractedBy)
		}
		who := gatehouse.ActorFrom(ctx)
		n := newDeployment{app: a, env: e, stage: st, artifact: art, kind: gatehouse.KindDeploy, by: who.UserName, manual: true}
		if in.BreakGlass != "" {
			if err := who.MayBreakGlass(gatehouse.Target{Project: project, App: app, Env: e.Name}); err != nil {
				return err
			}
			n.glass = &breakGlass{reason: in.BreakGlass, person: who.Person}
		}
		n.pass, err = tx.gate(a, e, art, who, nil)
		if gatehouse.KindOf(err) == gatehouse.KindPreconditionFailed && n.glass != nil {
			// The gate's own refusal is what break-glass passes over: the policies it names
			// review the use afterwards.
			n.glass.gateRefusal = err.Error()
			if n.glass.skipped, err = matchingPolicies(ctx, tx, gatehouse.Target{Project: project, App: app, Env: e.Name}, gatehouse.PolicyImage); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		d, err = tx.createDeployment(n)
		return err
	})
	return maskedDeployment(d), err
}

// maskedDeployment returns a copy fit to show: secret values masked.
func maskedDeployment(d *gatehouse.Deployment) *gatehouse.Deployment { return valueMasker{}.mask(d) }

// valueMasker masks deployments' values, each distinct text once (parsing is the cost).
type valueMasker map[string]string

func (m valueMasker) mask(d *gatehouse.Deployment) *gatehouse.Deployment {
	if d == nil {
		return nil
	}
	v, ok := m[d.Values]
	if !ok {
		v = gatehouse.MaskValues(d.Values)
		m[d.Values] = v
	}
	c := *d
	c.Values = v
	return &c
}

// Deployment implements gatehouse.DeploymentService.
func (s *DeploymentService) Deployment(ctx context.Context, project, app string, id int64) (*gatehouse.Deployment, error) {
	d, err := s.deployment(ctx, project, app, id)
	return maskedDeployment(d), err
}

// deployment reads a deployment the caller may see, with its values unmasked.
func (s *DeploymentService) deployment(ctx context.Context, project, app string, id int64) (*gatehouse.Deployment, error) {
	who, a, err := visibleApp(ctx, s.db.r, project, app)
	if err != nil {
		return nil, err
	}
	d, err := findDeployment(ctx, s.db.r, id)
	if err != nil {
		return nil, err
	}
	if d.Project != a.Project || d.App != a.Name || !who.CanSee(d.Target()) {
		return nil, gatehouse.NotFoundf("deployment %d not found in app %s/%s", id, project, app)
	}
	if d.Events, err = deploymentEvents(ctx, s.db.r, id); err != nil {
		return nil, fmt.Errorf("deployment events: %w", err)
	}
	return d, nil
}

// Deployments implements gatehouse.DeploymentService.
func (s *DeploymentService) Deployments(ctx context.Context, project, app string, f gatehouse.DeploymentFilter) (gatehouse.Page[*gatehouse.Deployment], error) {
	var page gatehouse.Page[*gatehouse.Deployment]
	who, a, err := visibleApp(ctx, s.db.r, project, app)
	if err != nil {
		return page, err
	}
	k, err := keysetOf(f.Limit, 50, f.Cursor)
	if err != nil {
		return page, err
	}
	var args sqlArgs
	// Environments the caller does not see stay out in the query, before LIMIT.
	q := deploymentSelect + ` WHERE d.app_id = ` + args.add(a.ID) + ` AND ` + seesSQL(who.Grants, &args, at("p.name", "a.name", "e.name"))
	if f.Environment != "" {
		q += ` AND e.name = ` + args.add(f.Environment)
	}
	out, err := queryAll(ctx, s.db.r, scanDeployment, q+k.sql("d", &args), args...)
	if err != nil {
		return page, fmt.Errorf("list deployments: %w", err)
	}
	page.Items, page.Next = cut(k, out, func(d *gatehouse.Deployment) int64 { return d.ID })
	masker := valueMasker{} // deployments of an app mostly share their values
	for i := range page.Items {
		page.Items[i] = masker.mask(page.Items[i])
	}
	if page.Items == nil {
		page.Items = []*gatehouse.Deployment{}
	}
	return page, nil
}

// DiffDeployments implements gatehouse.DeploymentService.
func (s *DeploymentService) DiffDeployments(ctx context.Context, project, app string, from, to int64) (*gatehouse.DeploymentDiff, error) {
	a, err := s.deployment(ctx, project, app, from)
	if err != nil {
		return nil, err
	}
	b, err := s.deployment(ctx, project, app, to)
	if err != nil {
		return nil, err
	}
	d, err := gatehouse.DiffDeployments(a, b)
	if err != nil {
		return nil, err
	}
	d.From, d.To = maskedDeployment(a), maskedDeployment(b)
	return d, nil
}

// since is how long ago t was, for messages.
func since(now, t time.Time) string { return now.Sub(t).Round(time.Second).String() }
