package gatehouse

import (
	"context"
	"time"
)

// DraftState is where a configuration draft is in its life: draft (being written) → proposed
// (waiting for approvals) → approved (its policies are met) → published (applied to the
// environment's configuration); or discarded. A rejection sends a proposed draft back to draft.
type DraftState string

// The draft states.
const (
	DraftOpen      DraftState = "draft"
	DraftProposed  DraftState = "proposed"
	DraftApproved  DraftState = "approved"
	DraftPublished DraftState = "published"
	DraftDiscarded DraftState = "discarded"
)

// DraftStates lists every draft state.
var DraftStates = []DraftState{DraftOpen, DraftProposed, DraftApproved, DraftPublished, DraftDiscarded}

// Open reports whether the draft can still change.
func (s DraftState) Open() bool { return s == DraftOpen || s == DraftProposed || s == DraftApproved }

// DraftVersion is one version of a draft's content, by whom and why.
type DraftVersion struct {
	Version int64     `json:"version"`
	Author  string    `json:"author"`
	Comment string    `json:"comment,omitempty"`
	Time    time.Time `json:"time"`
}

// DraftComment is a remark on a draft.
type DraftComment struct {
	Author string    `json:"author"`
	Text   string    `json:"text"`
	Time   time.Time `json:"time"`
}

// ConfigDraft is a proposed change of one configuration resource of a protected environment.
// Approvals are for a version: a new version needs them again. Nobody who wrote a version may
// approve it.
type ConfigDraft struct {
	ID int64 `json:"id"`
	ConfigRef
	State    DraftState     `json:"state"`
	Version  int64          `json:"version"`
	Content  string         `json:"content"` // the latest version (secret values masked)
	Author   string         `json:"author"`  // who opened it
	Authors  []string       `json:"authors"` // who wrote any version
	Versions []DraftVersion `json:"versions"`
	Comments []DraftComment `json:"comments"`
	Change   *ConfigChange  `json:"change"` // against the live resource
	Policies []PolicyRef    `json:"policies"`
	Notify   []string       `json:"notify"`
	Votes    []Vote         `json:"votes"` // on the latest version
	Verdicts []Verdict      `json:"verdicts"`
	Reason   string         `json:"reason,omitempty"`
	// PublishedRevision is the app configuration revision publishing made.
	PublishedRevision int64      `json:"published_revision,omitempty"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
	DecidedAt         *time.Time `json:"decided_at,omitempty"`
}

// Approvers lists the people who approved the latest version.
func (d *ConfigDraft) Approvers() []string { return approvers(d.Votes) }

// ConfigWrite is new content for a configuration resource. BaseVersion, for a draft, is the
// version the writer started from: a draft that has moved on since is refused ("draft
// changed, reload"), so concurrent edits never overwrite each other.
type ConfigWrite struct {
	Content     string `json:"content"`
	Comment     string `json:"comment"`
	BaseVersion int64  `json:"base_version,omitempty"`
}

// Validate checks the comment; content is checked against its resource kind by the service.
func (in ConfigWrite) Validate() error { return validateText("comment", in.Comment, 4096) }

// DraftPropose asks for approval of a draft, notifying the chosen approvers (all eligible
// ones when none are chosen).
type DraftPropose struct {
	Comment string   `json:"comment"`
	Notify  []string `json:"notify"`
}

// DraftNote is the body of a draft's comment (Text) and discard (Reason, optional).
type DraftNote struct {
	Text   string `json:"text,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Validate checks every field.
func (in DraftPropose) Validate() error {
	if err := validateText("comment", in.Comment, 4096); err != nil {
		return err
	}
	return validateNotify(in.Notify)
}

// DraftFilter selects drafts.
type DraftFilter struct {
	Project     string
	App         string
	Environment string
	State       DraftState
	// ForMe selects proposed drafts the caller could approve now.
	ForMe bool
	Limit int
}

// ConfigService reads and changes apps' configuration. Reading needs view; writing needs manage
// on the resource's target; approving needs approve-config. On an environment that config
// policies protect, content changes only through drafts.
type ConfigService interface {
	// Config returns a resource as it is live now (secret values masked). Errors: invalid
	// kind; not found.
	Config(ctx context.Context, ref ConfigRef) (*Config, error)
	// SetConfig replaces a resource's content and bumps the app's configuration revision.
	// Errors: invalid content (naming the line or path, never a secret value); not found;
	// forbidden; precondition failed on a protected environment (start a draft instead).
	SetConfig(ctx context.Context, ref ConfigRef, in ConfigWrite) (*Config, error)
	// CompareConfig compares the effective configuration of two environments (values merged
	// with the base, the configmap and the secrets' keys). Secrets are compared by key only:
	// set in both, or in one (added or removed), never equal or different. Errors: invalid
	// names; not found.
	CompareConfig(ctx context.Context, project, app, from, to string) (*ConfigChange, error)

	// CreateDraft opens a draft of a protected resource with its first version. Errors: as
	// SetConfig; precondition failed when the resource is not protected; conflict when a
	// draft of it is open.
	CreateDraft(ctx context.Context, ref ConfigRef, in ConfigWrite) (*ConfigDraft, error)
	// ConfigDraft returns a draft with its change, versions, comments, votes and verdicts.
	ConfigDraft(ctx context.Context, id int64) (*ConfigDraft, error)
	// ConfigDrafts lists drafts the caller may see, newest first.
	ConfigDrafts(ctx context.Context, f DraftFilter) ([]*ConfigDraft, error)
	// EditDraft adds a version. A proposed or approved draft goes back to proposed: approvals
	// are for a version. Errors: invalid content; conflict "draft changed, reload" when
	// BaseVersion is not the latest; precondition failed when the draft is not open.
	EditDraft(ctx context.Context, id int64, in ConfigWrite) (*ConfigDraft, error)
	// CommentDraft adds a remark (anyone who can see the draft). Errors: not found; invalid.
	CommentDraft(ctx context.Context, id int64, text string) (*ConfigDraft, error)
	// ProposeDraft asks for approval and notifies approvers. Errors: precondition failed when
	// not in draft state or when it changes nothing.
	ProposeDraft(ctx context.Context, id int64, in DraftPropose) (*ConfigDraft, error)
	// ApproveDraft records the caller's approval of the latest version. Errors: forbidden for
	// authors, service accounts, API tokens and people without approve-config (with why);
	// conflict when the caller voted on this version; precondition failed unless proposed.
	ApproveDraft(ctx context.Context, id int64, d Decision) (*ConfigDraft, error)
	// RejectDraft sends a proposed draft back to its authors with a reason. Errors: as
	// ApproveDraft; invalid without a reason.
	RejectDraft(ctx context.Context, id int64, d Decision) (*ConfigDraft, error)
	// PublishDraft applies an approved draft to the live configuration, re-judging it first
	// (eligibility now, policies now). Errors: precondition failed when not approved, when
	// approvals no longer suffice (saying what is missing), or when the live resource changed
	// since the draft began (stale: start again from the live content).
	PublishDraft(ctx context.Context, id int64) (*ConfigDraft, error)
	// DiscardDraft ends an open draft. Errors: precondition failed when not open.
	DiscardDraft(ctx context.Context, id int64, reason string) (*ConfigDraft, error)
}
