// Package worker runs Gatehouse's durable work on River: deployments, each a job whose steps
// are idempotent and whose progress lives in the database, so a worker that dies mid-deploy is
// replaced by another that resumes (or fails the deployment cleanly).
package worker

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/kube"
	"github.com/gatehousehq/gatehouse/notify"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// Options configure a Runner.
type Options struct {
	Store    *sqlstore.DB
	Clusters *kube.Clusters
	Charts   *kube.Charts
	// Lease is how long a worker holds a deployment without renewing it; after that another
	// worker resumes it. Default 30s.
	Lease time.Duration
	// Workers bounds concurrent deployments per server. Default 100.
	Workers int
	// PollInterval is how often idle workers look for new deployments (notifications and
	// upkeep: five times as long). Default 200ms.
	PollInterval time.Duration
	Logger       *slog.Logger
	// Mailer sends e-mail notifications; nil means none are sent.
	Mailer notify.Mailer
	// HTTPClient posts webhooks; nil means a client with a 10s timeout.
	HTTPClient *http.Client
	// ExternalURL is the server's address as people reach it, for links in notifications.
	ExternalURL string
	// LinkTTL bounds an approve link's life (it also dies with its request). Default 72h.
	LinkTTL time.Duration
	// Observer is told of every deployment this runner ended; nil means no one is.
	Observer Observer
}

// Observer hears of the deployments a runner ended, once the end is committed: each ended
// deployment is told of once, by the runner that ended it. It gets the deployment as the
// database holds it then, with its events but without its values. Its method runs on the
// deployment's worker, so it must be quick.
type Observer interface {
	DeploymentEnded(d *gatehouse.Deployment)
}

// Runner owns the River client (deployments, notifications and the leader's upkeep) and the
// hand-off loop.
type Runner struct {
	opt    Options
	owner  string
	client *river.Client[*sql.Tx]
	log    *slog.Logger
	stop   context.CancelFunc
	done   chan struct{}
	// identified closes when the clusters unknown at start have been identified (or tried).
	identified chan struct{}
}

const deployQueue = "deploy"

// New migrates River's tables and builds a runner; Start begins working.
func New(ctx context.Context, opt Options) (*Runner, error) {
	if opt.Lease <= 0 {
		opt.Lease = 30 * time.Second
	}
	if opt.Workers <= 0 {
		opt.Workers = 100
	}
	if opt.PollInterval <= 0 {
		opt.PollInterval = 200 * time.Millisecond
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.HTTPClient == nil {
		opt.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if opt.LinkTTL <= 0 {
		opt.LinkTTL = 72 * time.Hour
	}
	var driver riverdriver.Driver[*sql.Tx]
	switch opt.Store.Engine() {
	case "sqlite":
		driver = riversqlite.New(opt.Store.Raw())
	default:
		driver = riverdatabasesql.New(opt.Store.Raw())
	}
	migrator, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: opt.Logger})
	if err != nil {
		return nil, fmt.Errorf("job queue migrations: %w", err)
	}
	if err := opt.Store.WhileMigrating(ctx, func() error {
		_, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
		return err
	}); err != nil {
		return nil, fmt.Errorf("job queue migrations: %w", err)
	}
	r := &Runner{opt: opt, owner: workerID(), log: opt.Logger}
	workers := river.NewWorkers()
	river.AddWorker(workers, &deployWorker{r: r})
	river.AddWorker(workers, &notifyWorker{r: r})
	river.AddWorker(workers, &upkeepWorker{r: r})
	r.client, err = river.NewClient(driver, &river.Config{
		// Polling only: the PostgreSQL driver over database/sql has no listener anyway, and the
		// SQLite one emulates it by reading a table every 50 ms, which was most of what an idle
		// server spent. Deployments are looked for most often; the rest can wait a little.
		PollOnly: true,
		Queues: map[string]river.QueueConfig{
			deployQueue: {MaxWorkers: opt.Workers},
			notifyQueue: {MaxWorkers: 10, FetchPollInterval: 5 * opt.PollInterval},
			upkeepQueue: {MaxWorkers: 1, FetchPollInterval: 5 * opt.PollInterval},
		},
		Workers:      workers,
		PeriodicJobs: []*river.PeriodicJob{upkeepJob(opt.Lease / 10)},
		// A finished job's row is of no further use (deployments and notifications keep their
		// own records), and upkeep adds one every tenth of a lease.
		CompletedJobRetentionPeriod: time.Hour,
		FetchPollInterval:           opt.PollInterval,
		FetchCooldown:               20 * time.Millisecond,
		Logger:                      opt.Logger,
		// Deployments renew their own lease; River's rescuer is only a last resort.
		RescueStuckJobsAfter: 3 * time.Hour,
		JobTimeout:           -1,
	})
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	return r, nil
}

// workerID names this process in leases and events: host, pid and a random suffix.
func workerID() string {
	host, _ := os.Hostname()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Owner is this runner's worker id.
func (r *Runner) Owner() string { return r.owner }

// EnqueueDeployment implements sqlstore.Queue: it inserts the deployment's job in tx.
func (r *Runner) EnqueueDeployment(ctx context.Context, tx *sql.Tx, id int64) error {
	_, err := r.client.InsertTx(ctx, tx, DeployArgs{DeploymentID: id}, &river.InsertOpts{Queue: deployQueue, MaxAttempts: 8})
	return err
}

// Start begins working jobs and handing off deployments whose workers stopped.
func (r *Runner) Start(ctx context.Context) error {
	if err := r.client.Start(ctx); err != nil {
		return fmt.Errorf("start job queue: %w", err)
	}
	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.stop, r.done = cancel, make(chan struct{})
	r.identified = make(chan struct{})
	go r.handOffLoop(loopCtx)
	go func() {
		defer close(r.identified)
		r.identifyClusters(loopCtx)
	}()
	return nil
}

// handOffLoop looks for deployments whose worker stopped renewing its lease, right away and
// then every tenth of a lease. Every replica runs it, not only River's leader: taking over a
// deployment is a conditional update that one replica wins, and a survivor must not wait for
// leadership (River's leader term outlives a killed leader by up to 15 s) to resume the
// deployments of a replica that died.
func (r *Runner) handOffLoop(ctx context.Context) {
	defer close(r.done)
	t := time.NewTicker(r.opt.Lease / 10)
	defer t.Stop()
	for {
		ids, err := r.opt.Store.HandOffStale(ctx, r.opt.Lease)
		if err != nil && ctx.Err() == nil {
			r.log.Warn("hand off stale deployments", "err", err)
		}
		for _, id := range ids {
			r.log.Info("resuming deployment whose worker stopped", "deployment", id)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Stop stops taking work and waits (until ctx ends) for running deployments to reach a
// step boundary; what is left is resumed by the next worker.
func (r *Runner) Stop(ctx context.Context) error {
	if r.stop != nil {
		r.stop()
		<-r.done
		<-r.identified
	}
	return r.client.Stop(ctx)
}
