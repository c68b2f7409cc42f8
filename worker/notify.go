package worker

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/notify"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

const notifyQueue = "notify"

// NotifyArgs is the job of delivering one notification.
type NotifyArgs gatehouse.Notification

// Kind names the job kind in River's tables.
func (NotifyArgs) Kind() string { return "notify" }

// EnqueueNotification implements sqlstore.Queue: it inserts the delivery job in tx.
func (r *Runner) EnqueueNotification(ctx context.Context, tx *sql.Tx, n gatehouse.Notification) error {
	_, err := r.client.InsertTx(ctx, tx, NotifyArgs(n), &river.InsertOpts{Queue: notifyQueue, MaxAttempts: 10})
	return err
}

type notifyWorker struct {
	river.WorkerDefaults[NotifyArgs]
	r *Runner
}

// NextRetry backs off from 5 seconds, doubling, up to 10 minutes.
func (w *notifyWorker) NextRetry(job *river.Job[NotifyArgs]) time.Time {
	d := 5 * time.Second << min(job.Attempt-1, 7)
	return time.Now().Add(min(d, 10*time.Minute))
}

// Work renders and delivers the notification. Failures retrying cannot fix (a refused
// address, a webhook answering 4xx, a deleted user or webhook) end the job at once.
func (w *notifyWorker) Work(ctx context.Context, job *river.Job[NotifyArgs]) error {
	err := w.r.deliver(ctx, gatehouse.Notification(job.Args))
	if err != nil && (notify.Permanent(err) || gatehouse.KindOf(err) == gatehouse.KindNotFound) {
		w.r.log.Warn("notification dropped", "event", job.Args.Event, "approval", job.Args.ApprovalID, "err", err)
		return river.JobCancel(err)
	}
	return err
}

func (r *Runner) deliver(ctx context.Context, n gatehouse.Notification) error {
	ctx = gatehouse.WithActor(ctx, gatehouse.SystemActor())
	approvals := sqlstore.NewApprovalService(r.opt.Store)
	req, err := approvals.Approval(ctx, n.ApprovalID)
	if err != nil {
		return err
	}
	page := strings.TrimRight(r.opt.ExternalURL, "/") + fmt.Sprintf("/ui/approvals/%d", req.ID)
	if n.WebhookID != 0 {
		t, err := r.opt.Store.WebhookTarget(ctx, n.WebhookID)
		if err != nil {
			return err
		}
		c := render(n.Event, req, page)
		return notify.Post(ctx, r.opt.HTTPClient, notify.Webhook{URL: t.URL, Format: t.Format, Secret: t.Secret}, c.event(n.Event, req))
	}
	if r.opt.Mailer == nil {
		r.log.Debug("no SMTP server configured: e-mail not sent", "event", n.Event, "user", n.User)
		return nil
	}
	u, err := sqlstore.NewUserService(r.opt.Store).User(ctx, n.User)
	if err != nil {
		return err
	}
	if u.Email == "" || u.Disabled {
		return nil
	}
	link := page
	if n.Event == gatehouse.EventApprovalRequested && u.Name != req.Requester {
		token, err := r.opt.Store.CreateApprovalLink(ctx, req.ID, u.Name, r.opt.LinkTTL)
		if err != nil {
			return err
		}
		link = strings.TrimRight(r.opt.ExternalURL, "/") + "/approve/" + token.Reveal()
	}
	return r.opt.Mailer.Send(ctx, render(n.Event, req, link).mail(u.Email))
}
