package worker

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

const upkeepQueue = "upkeep"

// UpkeepArgs is the periodic job of the work that must happen once across replicas: ending
// approval requests whose time ran out, reminding of overdue break-glass reviews and starting
// deployments whose windows opened. River's elected leader alone inserts it, so two replicas
// never both remind or both start; the queue runs one at a time.
type UpkeepArgs struct{}

// Kind names the job kind in River's tables.
func (UpkeepArgs) Kind() string { return "upkeep" }

// upkeepJob is the periodic job, every interval and once when a leader is elected.
func upkeepJob(interval time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(interval), func() (river.JobArgs, *river.InsertOpts) {
		// A failed round is not retried: the next one comes within the interval.
		return UpkeepArgs{}, &river.InsertOpts{Queue: upkeepQueue, MaxAttempts: 1}
	}, &river.PeriodicJobOpts{ID: "upkeep", RunOnStart: true})
}

type upkeepWorker struct {
	river.WorkerDefaults[UpkeepArgs]
	r *Runner
}

// Timeout bounds a round, so a stuck database call cannot hold the queue past a few rounds.
func (w *upkeepWorker) Timeout(*river.Job[UpkeepArgs]) time.Duration { return time.Minute }

// Work runs one round; each part logs its own failure and the others still run.
func (w *upkeepWorker) Work(ctx context.Context, _ *river.Job[UpkeepArgs]) error {
	r := w.r
	if _, err := r.opt.Store.ExpireApprovals(ctx); err != nil {
		r.log.Warn("expire approval requests", "err", err)
	}
	if _, err := r.opt.Store.RemindOverdueReviews(ctx); err != nil {
		r.log.Warn("remind of overdue break-glass reviews", "err", err)
	}
	if n, err := r.opt.Store.StartOpenedWaits(ctx); err != nil {
		r.log.Warn("start deployments whose windows opened", "err", err)
	} else if n > 0 {
		r.log.Info("started deployments whose windows opened", "deployments", n)
	}
	return nil
}
