package worker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/kube"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// DeployArgs is the job of running one deployment.
type DeployArgs struct {
	DeploymentID int64 `json:"deployment_id"`
}

// Kind names the job kind in River's tables.
func (DeployArgs) Kind() string { return "deploy" }

type deployWorker struct {
	river.WorkerDefaults[DeployArgs]
	r *Runner
}

// NextRetry retries a deploy step that hit a transient fault (an unreachable API server)
// soon, not with River's long default backoff.
func (w *deployWorker) NextRetry(job *river.Job[DeployArgs]) time.Time {
	return time.Now().Add(time.Duration(job.Attempt) * 2 * time.Second)
}

// Work claims the deployment and runs it from whatever state it is in.
func (w *deployWorker) Work(ctx context.Context, job *river.Job[DeployArgs]) error {
	r, id := w.r, job.Args.DeploymentID
	dj, err := r.opt.Store.ClaimDeployment(ctx, id, r.owner, r.opt.Lease)
	var busy *sqlstore.EnvironmentBusyError
	switch {
	case errors.Is(err, sqlstore.ErrFinished), errors.Is(err, sqlstore.ErrLeased):
		return nil
	case errors.As(err, &busy):
		return river.JobSnooze(250 * time.Millisecond)
	case err != nil:
		return fmt.Errorf("claim deployment %d: %w", id, err)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go r.renew(ctx, cancel, id)
	err = r.run(ctx, dj)
	if err != nil && context.Cause(ctx) == sqlstore.ErrLeaseLost {
		return nil // another worker owns it now
	}
	if err != nil && ctx.Err() != nil {
		// Shutting down: let the next worker resume at once instead of after the lease.
		if rerr := r.opt.Store.ReleaseLease(context.WithoutCancel(ctx), id, r.owner); rerr != nil {
			r.log.Warn("release deployment lease", "deployment", id, "err", rerr)
		}
		return err
	}
	if err != nil && kube.Unreachable(err) {
		return r.unreachable(ctx, dj, err)
	}
	if err != nil {
		r.note(ctx, dj, "retrying after: "+firstLine(err.Error()))
	}
	if err != nil && job.Attempt >= job.MaxAttempts {
		// The last try: fail the deployment rather than leave it for hand-off forever.
		return r.finish(context.WithoutCancel(ctx), dj, gatehouse.StateFailed, sqlstore.Outcome{
			Cause: fmt.Sprintf("gave up after %d attempts: %v", job.Attempt, err)})
	}
	return err
}

// renew keeps the lease while the deployment runs, and cancels the run if it is lost.
func (r *Runner) renew(ctx context.Context, cancel context.CancelCauseFunc, id int64) {
	t := time.NewTicker(r.opt.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.opt.Store.RenewLease(ctx, id, r.owner, r.opt.Lease); errors.Is(err, sqlstore.ErrLeaseLost) {
				cancel(sqlstore.ErrLeaseLost)
				return
			} else if err != nil {
				r.log.Warn("renew deployment lease", "deployment", id, "err", err)
			}
		}
	}
}

// advance moves the deployment along path (usually one state; more when steps in between have
// nothing to do).
func (r *Runner) advance(ctx context.Context, dj *sqlstore.DeployJob, o sqlstore.Outcome, path ...gatehouse.DeploymentState) error {
	if err := r.opt.Store.AdvanceDeployment(ctx, dj.ID, r.owner, o, path...); err != nil {
		return err
	}
	dj.State = path[len(path)-1]
	if o.HelmRevision > 0 {
		dj.HelmRevision = o.HelmRevision
	}
	if dj.State.Terminal() {
		r.ended(ctx, dj.ID)
	}
	return nil
}

// ended tells the observer of a deployment this runner just ended.
func (r *Runner) ended(ctx context.Context, id int64) {
	if r.opt.Observer == nil {
		return
	}
	d, err := r.opt.Store.DeploymentRecord(context.WithoutCancel(ctx), id)
	if err != nil {
		r.log.Warn("read ended deployment for metrics", "deployment", id, "err", err)
		return
	}
	r.opt.Observer.DeploymentEnded(d)
}

func (r *Runner) finish(ctx context.Context, dj *sqlstore.DeployJob, to gatehouse.DeploymentState, o sqlstore.Outcome) error {
	err := r.advance(ctx, dj, o, to)
	if errors.Is(err, sqlstore.ErrLeaseLost) {
		return nil
	}
	return err
}

func (r *Runner) note(ctx context.Context, dj *sqlstore.DeployJob, msg string) {
	if err := r.opt.Store.LogDeployment(ctx, dj.ID, string(dj.State), msg); err != nil {
		r.log.Warn("deployment event", "deployment", dj.ID, "err", err)
	}
}

// run drives the state machine from the deployment's current state. Each step is safe to
// run again after an interruption: Jobs are named per deployment and step, Helm releases left
// pending are recovered before applying, and verification just watches again.
func (r *Runner) run(ctx context.Context, dj *sqlstore.DeployJob) error {
	conn, err := r.opt.Clusters.Get(ctx, dj.Cluster)
	if err != nil {
		return err
	}
	if err := r.identify(ctx, conn); gatehouse.KindOf(err) == gatehouse.KindPreconditionFailed {
		return r.finish(ctx, dj, gatehouse.StateFailed, sqlstore.Outcome{Cause: err.Error()})
	} else if err != nil {
		return err
	}
	var manifest string // what this run applied; a resumed run reads it from the cluster
	for {
		var err error
		switch dj.State {
		case gatehouse.StatePreDeploy:
			err = r.steps(ctx, conn, dj, "pre", dj.Hooks.PreDeploy, gatehouse.StateApplying)
		case gatehouse.StateApplying:
			manifest, err = r.apply(ctx, conn, dj)
		case gatehouse.StateVerifying:
			err = r.verify(ctx, conn, dj, manifest)
		case gatehouse.StatePostDeploy:
			err = r.steps(ctx, conn, dj, "post", dj.Hooks.PostDeploy, gatehouse.StateSucceeded)
		default:
			return nil
		}
		var rollout *kube.RolloutError
		if errors.As(err, &rollout) {
			return r.finish(ctx, dj, gatehouse.StateFailed, sqlstore.Outcome{Cause: rollout.Cause})
		}
		if err != nil {
			return err
		}
	}
}

// unreachable answers a run that could not reach the cluster: it tries again, backing off up
// to 10 seconds, until the stage's timeout has passed since the deployment started, and then
// fails it naming the cause. Waiting does not use up the job's attempts, and the lease is
// kept over the wait so no other worker takes the deployment meanwhile.
func (r *Runner) unreachable(ctx context.Context, dj *sqlstore.DeployJob, err error) error {
	started := dj.CreatedAt
	if dj.StartedAt != nil {
		started = *dj.StartedAt
	}
	elapsed := time.Since(started)
	cause := fmt.Sprintf("cluster %s unreachable: %s", dj.Cluster, firstLine(err.Error()))
	if elapsed >= dj.Timeout {
		return r.finish(context.WithoutCancel(ctx), dj, gatehouse.StateFailed, sqlstore.Outcome{
			Cause: fmt.Sprintf("%s (still, %s after the deployment started; the stage's timeout is %s)", cause, elapsed.Round(time.Second), dj.Timeout)})
	}
	wait := min(max(elapsed/10, time.Second), 10*time.Second, dj.Timeout-elapsed)
	if err := r.opt.Store.RenewLease(ctx, dj.ID, r.owner, wait+r.opt.Lease); err != nil {
		return fmt.Errorf("keep the lease of deployment %d: %w", dj.ID, err)
	}
	r.note(ctx, dj, fmt.Sprintf("%s; trying again in %s", cause, wait.Round(time.Millisecond)))
	return river.JobSnooze(wait)
}

// steps runs pre- or post-deploy Jobs in order, then moves to next. Steps recorded before hook
// images had to be pinned by digest are refused, not run: a tag may have moved since.
func (r *Runner) steps(ctx context.Context, conn *kube.Conn, dj *sqlstore.DeployJob, phase string, steps []gatehouse.JobStep, next gatehouse.DeploymentState) error {
	if err := dj.Hooks.Validate("hooks"); err != nil {
		return &kube.RolloutError{Cause: err.Error()}
	}
	for _, s := range steps {
		name := fmt.Sprintf("%s-%d-%s-%s", dj.Release, dj.ID, phase, s.Name)
		labels := map[string]string{"app.kubernetes.io/managed-by": "gatehouse", "gatehouse.dev/deployment": fmt.Sprint(dj.ID)}
		started := time.Now()
		logs, err := conn.RunJob(ctx, dj.Namespace, truncateName(name), s, labels)
		if logs != "" {
			r.note(ctx, dj, fmt.Sprintf("step %s logs:\n%s", s.Name, strings.TrimRight(logs, "\n")))
		}
		if err != nil {
			return err
		}
		r.note(ctx, dj, fmt.Sprintf("step %s succeeded in %s", s.Name, time.Since(started).Round(time.Millisecond)))
	}
	return r.advance(ctx, dj, sqlstore.Outcome{}, next)
}

// apply installs or upgrades the release, after recovering one an interrupted worker left
// pending.
func (r *Runner) apply(ctx context.Context, conn *kube.Conn, dj *sqlstore.DeployJob) (manifest string, err error) {
	ch, err := r.opt.Charts.Load(dj.Chart)
	if err != nil {
		return "", &kube.RolloutError{Cause: "chart: " + err.Error()}
	}
	values, err := gatehouse.ParseValues("values", dj.Values)
	if err != nil {
		return "", &kube.RolloutError{Cause: err.Error()}
	}
	if len(dj.Secrets) > 0 {
		sec := map[string]any{}
		for k, v := range dj.Secrets {
			sec[k] = v
		}
		values[gatehouse.SecretValuesKey] = sec
	}
	started := time.Now()
	applied, err := conn.Apply(ctx, kube.Release{Name: dj.Release, Namespace: dj.Namespace, Chart: ch, Values: values,
		Scope:      kube.ObjectScope{AllowClusterScoped: dj.AllowClusterScoped, AllowNamespaces: dj.AllowNamespaces},
		Deployment: strconv.FormatInt(dj.ID, 10)})
	if err != nil {
		if kube.IsInvalid(err) {
			return "", &kube.RolloutError{Cause: err.Error()}
		}
		return "", err
	}
	if applied.Recovered {
		r.note(ctx, dj, "recovered release "+dj.Release+" left pending by an interrupted worker")
	}
	msg := fmt.Sprintf("applied release %s revision %d in %s", dj.Release, applied.Revision, time.Since(started).Round(time.Millisecond))
	if applied.Already {
		msg = fmt.Sprintf("release %s revision %d was applied by an interrupted worker; not applied again", dj.Release, applied.Revision)
	}
	return applied.Manifest, r.advance(ctx, dj, sqlstore.Outcome{HelmRevision: applied.Revision, Message: msg},
		gatehouse.StateVerifying)
}

// verify watches the release become ready; on failure it rolls back to the last good
// revision when the stage asks for it. manifest is the revision's, when this run applied it;
// otherwise it is read from the cluster.
func (r *Runner) verify(ctx context.Context, conn *kube.Conn, dj *sqlstore.DeployJob, manifest string) error {
	if manifest == "" {
		var err error
		if manifest, err = conn.Manifest(ctx, dj.Namespace, dj.Release, dj.HelmRevision); err != nil {
			return err
		}
	}
	started := time.Now()
	err := conn.WaitReady(ctx, dj.Namespace, manifest, dj.Timeout, func(msg string) { r.note(ctx, dj, msg) })
	var rollout *kube.RolloutError
	if err == nil {
		path := []gatehouse.DeploymentState{gatehouse.StatePostDeploy}
		if len(dj.Hooks.PostDeploy) == 0 {
			path = append(path, gatehouse.StateSucceeded) // nothing to run after: finish in the same commit
		}
		return r.advance(ctx, dj, sqlstore.Outcome{Message: "ready in " + time.Since(started).Round(time.Millisecond).String()}, path...)
	}
	if !errors.As(err, &rollout) || !dj.AutoRollback || dj.LastGood == 0 {
		return err
	}
	r.note(ctx, dj, fmt.Sprintf("%s; rolling back to revision %d", rollout.Cause, dj.LastGood))
	back, rbErr := conn.Rollback(ctx, dj.Namespace, dj.Release, dj.LastGood)
	if rbErr == nil {
		manifest := back.Manifest
		rbErr = conn.WaitReady(ctx, dj.Namespace, manifest, dj.Timeout, nil)
	}
	if rbErr != nil {
		return &kube.RolloutError{Cause: fmt.Sprintf("%s; the rollback to revision %d failed too: %v", rollout.Cause, dj.LastGood, rbErr)}
	}
	return r.finish(ctx, dj, gatehouse.StateRolledBack, sqlstore.Outcome{HelmRevision: back.Revision,
		Cause: fmt.Sprintf("%s; rolled back to revision %d (as revision %d)", rollout.Cause, dj.LastGood, back.Revision)})
}

func truncateName(s string) string {
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-")
	}
	return s
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
