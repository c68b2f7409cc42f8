package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// TestResumesADeploymentWhoseWorkerDied: a worker claims a deployment, gets it to applying and
// goes silent; once its lease lapses a live worker takes it over and finishes it.
func TestResumesADeploymentWhoseWorkerDied(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		h := newIdleHarness(t, engine)
		ns := h.env("dev", 0)
		h.app("web", "replicas: 2\n", gatehouse.Hooks{}, gatehouse.Stage{Environment: "dev"})
		d := h.deploy("web", "dev", h.push("web", ""))
		ctx := context.Background()
		job, err := h.db.ClaimDeployment(ctx, d.ID, "dead-worker", time.Second)
		h.must(err)
		if job.State != gatehouse.StateApplying {
			t.Fatalf("claimed in %s", job.State)
		}
		h.must(h.runner.Start(h.ctx))
		d = h.wait("web", d.ID)
		if d.State != gatehouse.StateSucceeded || !strings.Contains(events(d), "after worker dead-worker stopped") {
			t.Fatalf("resumed deployment %s %q\n%s", d.State, d.Cause, events(d))
		}
		if img, ready := deployedImage(t, 0, ns, "web"); img != d.Image || ready != 2 {
			t.Fatalf("cluster runs %s with %d ready", img, ready)
		}
	})
}

// TestDeploymentsToOneEnvironmentTakeTurns: several deployments of an app queued at once to
// one environment run one at a time, oldest first; another app in the same environment, and the
// app in another environment, are not held up.
func TestDeploymentsToOneEnvironmentTakeTurns(t *testing.T) {
	h := newHarness(t, "sqlite")
	h.env("dev", 0)
	h.env("qa", 1)
	h.app("web", "replicas: 1\n", gatehouse.Hooks{}, gatehouse.Stage{Environment: "dev"}, gatehouse.Stage{Environment: "qa"})
	h.app("api", "replicas: 1\n", gatehouse.Hooks{}, gatehouse.Stage{Environment: "dev"})
	var ids []int64
	for i := 0; i < 3; i++ {
		ids = append(ids, h.deploy("web", "dev", h.push("web", "")).ID)
	}
	other := h.deploy("web", "qa", h.push("web", "slow-ready"))
	neighbour := h.deploy("api", "dev", h.push("api", "slow-ready"))
	var done []*gatehouse.Deployment
	for _, id := range ids {
		done = append(done, h.wait("web", id))
	}
	for i, d := range done {
		if d.State != gatehouse.StateSucceeded || d.HelmRevision != i+1 {
			t.Fatalf("deployment %d: %s revision %d", d.ID, d.State, d.HelmRevision)
		}
		if i > 0 && d.StartedAt.Before(*done[i-1].FinishedAt) {
			t.Fatalf("deployment %d started at %s before %d finished at %s", d.ID, d.StartedAt, done[i-1].ID, done[i-1].FinishedAt)
		}
	}
	for app, d := range map[string]*gatehouse.Deployment{"web": other, "api": neighbour} {
		d = h.wait(app, d.ID)
		if d.State != gatehouse.StateSucceeded || !d.StartedAt.Before(*done[2].StartedAt) {
			t.Fatalf("%s to %s waited for web's deployments to dev: %s started %s", app, d.Environment, d.State, d.StartedAt)
		}
	}
}
