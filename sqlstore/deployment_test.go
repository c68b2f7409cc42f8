package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// recordingQueue remembers what the store enqueued.
type recordingQueue struct {
	mu    sync.Mutex
	ids   []int64
	notes []gatehouse.Notification
}

func (q *recordingQueue) EnqueueNotification(_ context.Context, _ *sql.Tx, n gatehouse.Notification) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.notes = append(q.notes, n)
	return nil
}

func (q *recordingQueue) notifications() []gatehouse.Notification {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]gatehouse.Notification(nil), q.notes...)
}

func (q *recordingQueue) EnqueueDeployment(_ context.Context, _ *sql.Tx, id int64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.ids = append(q.ids, id)
	return nil
}

func (q *recordingQueue) got() []int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]int64(nil), q.ids...)
}

// pipelineWorld is world() with a pipeline dev (auto) → stage (auto) → prod (manual), an
// override for prod and one artifact.
func (f *fixture) pipelineWorld() (*recordingQueue, *sqlstore.DeploymentService) {
	f.world()
	q := &recordingQueue{}
	f.db.SetQueue(q)
	_, err := f.pipes.SetPipeline(f.admin, "shop", "web", gatehouse.PipelineSet{Stages: []gatehouse.Stage{
		{Environment: "dev"}, {Environment: "stage", After: "dev", Trigger: "auto"}, {Environment: "prod", After: "stage", AutoRollback: true, Timeout: "30s"}}})
	f.must(err)
	_, err = f.apps.SetOverrides(f.admin, "shop", "web", "prod", "replicas: 5\n")
	f.must(err)
	_, err = f.arts.CreateArtifact(f.admin, "shop", "web", gatehouse.ArtifactCreate{Image: "r.example.com/web:1.0@" + digest1})
	f.must(err)
	return q, sqlstore.NewDeploymentService(f.db)
}

func TestDeployQueuesASnapshot(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		q, deps := f.pipelineWorld()
		d, err := deps.Deploy(f.admin, "shop", "web", gatehouse.DeploymentCreate{Environment: "prod", Digest: digest1})
		f.must(err)
		if d.State != gatehouse.StateQueued || d.Namespace != "shop-prod" || d.Cluster != "c1" || d.ConfigRevision != 2 || d.TriggeredBy != "admin" {
			t.Fatalf("deployment = %+v", d)
		}
		for _, want := range []string{"replicas: 5", "digest: " + digest1, "repository: r.example.com/web", "tag: 1.0@" + digest1} {
			if !strings.Contains(d.Values, want) {
				t.Fatalf("values snapshot lacks %q:\n%s", want, d.Values)
			}
		}
		if got := q.got(); len(got) != 1 || got[0] != d.ID {
			t.Fatalf("queued %v", got)
		}
		got, err := deps.Deployment(f.admin, "shop", "web", d.ID)
		f.must(err)
		if len(got.Events) != 1 || got.Events[0].Step != "queued" {
			t.Fatalf("events = %+v", got.Events)
		}
		// Refusals, none of which queue anything.
		_, err = deps.Deploy(f.admin, "shop", "web", gatehouse.DeploymentCreate{Environment: "prod", Digest: "latest"})
		wantErr(t, err, gatehouse.KindInvalid, "digest:")
		_, err = deps.Deploy(f.admin, "shop", "web", gatehouse.DeploymentCreate{Environment: "prod", Digest: digest2})
		wantErr(t, err, gatehouse.KindNotFound, digest2)
		_, err = f.pipes.SetPipeline(f.admin, "shop", "web", gatehouse.PipelineSet{Stages: []gatehouse.Stage{{Environment: "prod"}}})
		f.must(err)
		_, err = deps.Deploy(f.admin, "shop", "web", gatehouse.DeploymentCreate{Environment: "dev", Digest: digest1})
		wantErr(t, err, gatehouse.KindPreconditionFailed, `"dev" is not a stage`)
		vera := f.person("vera", "viewer@project:shop")
		_, err = deps.Deploy(vera, "shop", "web", gatehouse.DeploymentCreate{Environment: "prod", Digest: digest1})
		wantErr(t, err, gatehouse.KindForbidden, "deploy")
		_, err = f.arts.RetractArtifact(f.admin, "shop", "web", digest1)
		f.must(err)
		_, err = deps.Deploy(f.admin, "shop", "web", gatehouse.DeploymentCreate{Environment: "prod", Digest: digest1})
		wantErr(t, err, gatehouse.KindPreconditionFailed, "retracted")
		if len(q.got()) != 1 {
			t.Fatalf("refused deployments were queued: %v", q.got())
		}
	})
}

func TestOneDeploymentPerEnvironmentAndLeases(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		_, deps := f.pipelineWorld()
		ctx := context.Background()
		first, err := deps.Deploy(f.admin, "shop", "web", gatehouse.DeploymentCreate{Environment: "prod", Digest: digest1})
		f.must(err)
		second, err := deps.Deploy(f.admin, "shop", "web", gatehouse.DeploymentCreate{Environment: "prod", Digest: digest1})
		f.must(err)
		// The second waits even if its worker comes first: the older one goes first.
		_, err = f.db.ClaimDeployment(ctx, second.ID, "w2", time.Minute)
		var busy *sqlstore.EnvironmentBusyError
		if !errors.As(err, &busy) || busy.Blocker != first.ID {
			t.Fatalf("claim of the younger = %v", err)
		}
		job, err := f.db.ClaimDeployment(ctx, first.ID, "w1", time.Minute)
		f.must(err)
		// No pre-deploy steps: the claim takes it straight on to applying.
		if job.State != gatehouse.StateApplying || job.Timeout != 30*time.Second || !job.AutoRollback || job.LastGood != 0 {
			t.Fatalf("job = %+v", job)
		}
		if _, err := f.db.ClaimDeployment(ctx, second.ID, "w2", time.Minute); !errors.As(err, &busy) {
			t.Fatalf("claim while the environment is busy = %v", err)
		}
		if _, err := f.db.ClaimDeployment(ctx, first.ID, "w2", time.Minute); !errors.Is(err, sqlstore.ErrLeased) {
			t.Fatalf("claim of a leased deployment = %v", err)
		}
		// The database itself refuses two active deployments in one environment.
		if _, err := f.db.Raw().Exec(`UPDATE deployments SET state = 'applying' WHERE id = $1`, second.ID); err == nil {
			t.Fatal("two active deployments in one environment were stored")
		}
		if err := f.db.AdvanceDeployment(ctx, first.ID, "w2", sqlstore.Outcome{}, gatehouse.StateVerifying); !errors.Is(err, sqlstore.ErrLeaseLost) {
			t.Fatalf("advance by a non-owner = %v", err)
		}
		if err := f.db.AdvanceDeployment(ctx, first.ID, "w1", sqlstore.Outcome{}, gatehouse.StateSucceeded); err == nil {
			t.Fatal("applying jumped to succeeded")
		}
		// A path is all or nothing: a bad last step leaves the first undone too.
		if err := f.db.AdvanceDeployment(ctx, first.ID, "w1", sqlstore.Outcome{}, gatehouse.StateVerifying, gatehouse.StateQueued); err == nil {
			t.Fatal("verifying moved back to queued")
		}
		if d, _ := deps.Deployment(f.admin, "shop", "web", first.ID); d.State != gatehouse.StateApplying {
			t.Fatalf("a refused path left the deployment %s", d.State)
		}
		// The worker goes silent: after its lease, another takes over and says so.
		f.clock.Advance(2 * time.Minute)
		handed, err := f.db.HandOffStale(ctx, time.Minute)
		f.must(err)
		if len(handed) != 1 || handed[0] != first.ID {
			t.Fatalf("handed off %v", handed)
		}
		job, err = f.db.ClaimDeployment(ctx, first.ID, "w2", time.Minute)
		f.must(err)
		if job.State != gatehouse.StateApplying {
			t.Fatalf("resumed in %s", job.State)
		}
		if err := f.db.RenewLease(ctx, first.ID, "w1", time.Minute); !errors.Is(err, sqlstore.ErrLeaseLost) {
			t.Fatalf("old worker renews: %v", err)
		}
		f.must(f.db.AdvanceDeployment(ctx, first.ID, "w2", sqlstore.Outcome{HelmRevision: 3}, gatehouse.StateVerifying))
		f.must(f.db.AdvanceDeployment(ctx, first.ID, "w2", sqlstore.Outcome{}, gatehouse.StatePostDeploy, gatehouse.StateSucceeded))
		done, err := deps.Deployment(f.admin, "shop", "web", first.ID)
		f.must(err)
		var msgs []string
		for _, e := range done.Events {
			msgs = append(msgs, e.Step+": "+e.Message)
		}
		if done.FinishedAt == nil || done.HelmRevision != 3 || !strings.Contains(strings.Join(msgs, "\n"), "applying: resumed by worker w2 after worker w1 stopped") {
			t.Fatalf("finished deployment %+v events %q", done, msgs)
		}
		if _, err := f.db.ClaimDeployment(ctx, first.ID, "w3", time.Minute); !errors.Is(err, sqlstore.ErrFinished) {
			t.Fatalf("claim of a finished deployment = %v", err)
		}
		job, err = f.db.ClaimDeployment(ctx, second.ID, "w2", time.Minute)
		f.must(err)
		if job.LastGood != 3 {
			t.Fatalf("last good revision = %d, want 3", job.LastGood)
		}
		n := f.countRows(`SELECT COUNT(*) FROM audit_events WHERE resource = $1`, fmt.Sprintf("deployment/%d", first.ID))
		if n != 6 { // create, start, applying, verifying, post-deploy, succeeded: one each
			t.Fatalf("%d audit events for the deployment, want 6", n)
		}
	})
}

func TestPipelinePromotesThroughAutoStages(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		q, deps := f.pipelineWorld()
		_, err := f.pipes.SetPipeline(f.admin, "shop", "web", gatehouse.PipelineSet{Stages: []gatehouse.Stage{
			{Environment: "dev", Trigger: "auto"}, {Environment: "stage", After: "dev", Trigger: "auto"}, {Environment: "prod", After: "stage"}}})
		f.must(err)
		// A new artifact goes to dev by itself; success in dev takes it to stage; prod is manual.
		_, err = f.arts.CreateArtifact(f.admin, "shop", "web", gatehouse.ArtifactCreate{Image: "r.example.com/web@" + digest2})
		f.must(err)
		ids := q.got()
		if len(ids) != 1 {
			t.Fatalf("push queued %v", ids)
		}
		dev, err := deps.Deployment(f.admin, "shop", "web", ids[0])
		f.must(err)
		if dev.Environment != "dev" || dev.Digest != digest2 || !strings.HasPrefix(dev.TriggeredBy, "pipeline (artifact pushed by admin") {
			t.Fatalf("auto deployment = %+v", dev)
		}
		ctx := context.Background()
		_, err = f.db.ClaimDeployment(ctx, dev.ID, "w", time.Minute)
		f.must(err)
		f.must(f.db.AdvanceDeployment(ctx, dev.ID, "w", sqlstore.Outcome{}, gatehouse.StateVerifying, gatehouse.StatePostDeploy, gatehouse.StateSucceeded))
		ids = q.got()
		if len(ids) != 2 {
			t.Fatalf("after dev succeeded, queued %v", ids)
		}
		stage, err := deps.Deployment(f.admin, "shop", "web", ids[1])
		f.must(err)
		if stage.Environment != "stage" || stage.Digest != digest2 {
			t.Fatalf("promotion = %+v", stage)
		}
		// Rollback: only to a deployment that succeeded, with its values.
		_, err = deps.Rollback(f.admin, "shop", "web", stage.ID)
		wantErr(t, err, gatehouse.KindPreconditionFailed, "only a deployment that succeeded")
		rb, err := deps.Rollback(f.admin, "shop", "web", dev.ID)
		f.must(err)
		if rb.Kind != gatehouse.KindRollback || rb.RollbackOf != dev.ID || rb.Values != dev.Values || rb.Environment != "dev" {
			t.Fatalf("rollback = %+v", rb)
		}
		_, err = f.apps.SetOverrides(f.admin, "shop", "web", "dev", "replicas: 9\nconfig: {MODE: fast}\n")
		f.must(err)
		later, err := deps.Deploy(f.admin, "shop", "web", gatehouse.DeploymentCreate{Environment: "dev", Digest: digest1})
		f.must(err)
		diff, err := deps.DiffDeployments(f.admin, "shop", "web", dev.ID, later.ID)
		f.must(err)
		var paths []string
		for _, c := range diff.Changes {
			paths = append(paths, c.Path)
		}
		if diff.Image == nil || strings.Join(paths, ",") != "config.MODE,image.digest,image.tag,replicas" {
			t.Fatalf("diff image %v paths %v", diff.Image, paths)
		}
	})
}

func TestPreDeployStepsHoldTheClaimInPreDeploy(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		_, deps := f.pipelineWorld()
		hooks := gatehouse.Hooks{PreDeploy: []gatehouse.JobStep{{Name: "migrate", Image: "r.example.com/migrate:1@" + digest2}}}
		_, err := f.apps.UpdateApp(f.admin, "shop", "web", gatehouse.AppUpdate{Hooks: &hooks})
		f.must(err)
		d, err := deps.Deploy(f.admin, "shop", "web", gatehouse.DeploymentCreate{Environment: "prod", Digest: digest1})
		f.must(err)
		job, err := f.db.ClaimDeployment(context.Background(), d.ID, "w", time.Minute)
		f.must(err)
		if job.State != gatehouse.StatePreDeploy || len(job.Hooks.PreDeploy) != 1 || job.Hooks.PreDeploy[0].Name != "migrate" {
			t.Fatalf("claimed %+v", job)
		}
	})
}
