package worker

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
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
		w.r.log.Warn("notification dropped", "event", job.Args.Event, "approval", job.Args.ApprovalID, "draft", job.Args.DraftID, "err", err)
		return river.JobCancel(err)
	}
	return err
}

// subject is what a notification is about, ready to word: its page, its content for a link,
// its webhook fields, and whether a recipient gets a single-use approve link.
type subject struct {
	page    string
	content func(link string) content
	fields  map[string]string
	at      time.Time
	invite  func(user string) bool
	flow    gatehouse.BallotFlow
	id      int64
}

func (r *Runner) subjectOf(ctx context.Context, n gatehouse.Notification) (*subject, error) {
	base := strings.TrimRight(r.opt.ExternalURL, "/")
	if n.ReviewID != 0 {
		rv, err := sqlstore.NewReviewService(r.opt.Store).Review(ctx, n.ReviewID)
		if err != nil {
			return nil, err
		}
		return &subject{page: base + fmt.Sprintf("/ui/reviews/%d", rv.ID), at: rv.CreatedAt,
			content: func(link string) content { return renderReview(n.Event, rv, link) },
			fields:  reviewFields(rv),
			// Acknowledging takes a comment, written on the page: no single-use link.
			invite: func(string) bool { return false },
			flow:   gatehouse.FlowReview, id: rv.ID}, nil
	}
	if n.DraftID != 0 {
		d, err := sqlstore.NewDraftService(r.opt.Store).Draft(ctx, n.DraftID)
		if err != nil {
			return nil, err
		}
		return &subject{page: base + fmt.Sprintf("/ui/drafts/%d", d.ID), at: d.UpdatedAt,
			content: func(link string) content { return renderDraft(n.Event, d, link) },
			fields:  draftFields(d),
			invite: func(user string) bool {
				return n.Event == gatehouse.EventDraftProposed && !slices.Contains(d.Authors, user)
			},
			flow: gatehouse.FlowDraft, id: d.ID}, nil
	}
	req, err := sqlstore.NewApprovalService(r.opt.Store).Approval(ctx, n.ApprovalID)
	if err != nil {
		return nil, err
	}
	return &subject{page: base + fmt.Sprintf("/ui/approvals/%d", req.ID), at: req.CreatedAt,
		content: func(link string) content { return render(n.Event, req, link) },
		fields:  approvalFields(req),
		invite: func(user string) bool {
			return n.Event == gatehouse.EventApprovalRequested && user != req.RequesterPerson
		},
		flow: gatehouse.FlowRequest, id: req.ID}, nil
}

func (r *Runner) deliver(ctx context.Context, n gatehouse.Notification) error {
	ctx = gatehouse.WithActor(ctx, gatehouse.SystemActor())
	s, err := r.subjectOf(ctx, n)
	if err != nil {
		return err
	}
	if n.WebhookID != 0 {
		t, err := r.opt.Store.WebhookTarget(ctx, n.WebhookID)
		if err != nil {
			return err
		}
		return notify.Post(ctx, r.opt.HTTPClient, notify.Webhook{URL: t.URL, Format: t.Format, Secret: t.Secret}, s.content(s.page).event(n.Event, s.at, s.fields))
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
	link := s.page
	if s.invite(u.Name) {
		token, err := r.opt.Store.CreateLink(ctx, s.flow, s.id, u.Name, r.opt.LinkTTL)
		if err != nil {
			return err
		}
		link = strings.TrimRight(r.opt.ExternalURL, "/") + "/approve/" + token.Reveal()
	}
	return r.opt.Mailer.Send(ctx, s.content(link).mail(u.Email))
}
