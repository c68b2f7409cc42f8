package gatehouse

import (
	"context"
	"net/url"
	"slices"
	"time"
)

// Notification events. Approvers hear of requests; requesters hear of every outcome.
const (
	EventApprovalRequested = "approval.requested"
	EventApprovalApproved  = "approval.approved"
	EventApprovalRejected  = "approval.rejected"
	EventApprovalCancelled = "approval.cancelled"
	EventApprovalExpired   = "approval.expired"
	EventApprovalStale     = "approval.stale"
	EventApprovalDeployed  = "approval.deployed"
)

// Draft events (every kind: configuration, settings, policies, rollbacks). Approvers hear of
// proposals; authors hear of every outcome.
const (
	EventDraftProposed  = "draft.proposed"
	EventDraftApproved  = "draft.approved"
	EventDraftRejected  = "draft.rejected"
	EventDraftPublished = "draft.published"
	EventDraftDiscarded = "draft.discarded"
)

// ApprovalEvents lists every approval event.
var ApprovalEvents = []string{EventApprovalRequested, EventApprovalApproved, EventApprovalRejected, EventApprovalCancelled,
	EventApprovalExpired, EventApprovalStale, EventApprovalDeployed}

// DraftEvents lists every draft event.
var DraftEvents = []string{EventDraftProposed, EventDraftApproved, EventDraftRejected, EventDraftPublished, EventDraftDiscarded}

// Events lists every event a webhook may subscribe to.
var Events = append(append(append([]string(nil), ApprovalEvents...), DraftEvents...), BreakGlassEvents...)

// Notification is one message to deliver: to a user by e-mail, or to a project webhook. It
// names what happened (to an approval request or a configuration draft) and where to read it
// at delivery time; it carries no content, so no link token or secret sits in the job queue.
type Notification struct {
	Event      string `json:"event"`
	ApprovalID int64  `json:"approval_id,omitempty"`
	DraftID    int64  `json:"draft_id,omitempty"`
	ReviewID   int64  `json:"review_id,omitempty"`
	User       string `json:"user,omitempty"`
	WebhookID  int64  `json:"webhook_id,omitempty"`
}

// Webhook is a project's notification endpoint. Its URL (which often embeds a token, as
// Slack's do) is sealed at rest and shown only by host.
type Webhook struct {
	ID        int64     `json:"id"`
	Project   string    `json:"project"`
	Name      string    `json:"name"`
	Host      string    `json:"host"`
	Format    string    `json:"format"`
	Events    []string  `json:"events"`
	Signed    bool      `json:"signed"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// WebhookCreate adds a webhook. Format is "json" (default) or "slack"; Secret, when set,
// signs each body (X-Gatehouse-Signature: sha256=HMAC). Events default to all.
type WebhookCreate struct {
	Name   string   `json:"name"`
	URL    Secret   `json:"url"`
	Format string   `json:"format"`
	Secret Secret   `json:"secret"`
	Events []string `json:"events"`
}

// Validate checks every field, fills defaults and returns the URL's host.
func (in *WebhookCreate) Validate() (string, error) {
	if err := ValidateName("name", in.Name); err != nil {
		return "", err
	}
	u, err := url.Parse(in.URL.Reveal())
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", Invalidf("url", "expected an http(s) URL")
	}
	switch in.Format {
	case "":
		in.Format = "json"
	case "json", "slack":
	default:
		return "", Invalidf("format", "%q is not a format: expected json or slack", in.Format)
	}
	if len(in.Events) == 0 {
		in.Events = append([]string(nil), Events...)
	}
	for _, e := range in.Events {
		if !slices.Contains(Events, e) {
			return "", Invalidf("events", "%q is not an event: expected approval.requested, approval.approved, draft.proposed, …", e)
		}
	}
	return u.Host, nil
}

// WebhookService manages a project's webhooks (manage on the project).
type WebhookService interface {
	// CreateWebhook adds a webhook. Errors: invalid input; not found; forbidden; conflict.
	CreateWebhook(ctx context.Context, project string, in WebhookCreate) (*Webhook, error)
	// Webhooks lists a project's webhooks (URLs by host only).
	Webhooks(ctx context.Context, project string) ([]*Webhook, error)
	// DeleteWebhook removes a webhook. Errors: not found; forbidden.
	DeleteWebhook(ctx context.Context, project string, id int64) error
}
