package gatehouse

import (
	"context"
	"time"
)

// PolicyRef names a policy at the version that judges a request.
type PolicyRef struct {
	Name    string `json:"name"`
	Version int64  `json:"version"`
}

// Vote is one person's decision on a ballot (for a draft: on one version). Via says how they
// proved who they are.
type Vote struct {
	Voter    string     `json:"voter"`
	Version  int64      `json:"version,omitempty"`
	Approve  bool       `json:"approve"`
	Comment  string     `json:"comment,omitempty"`
	Via      AuthMethod `json:"via"`
	Time     time.Time  `json:"time"`
	Verified bool       `json:"-"`
}

// ApprovalRequest asks for an artifact, by digest, to be approved for a stage under the
// policies that gate it, at their current versions.
type ApprovalRequest struct {
	ID          int64       `json:"id"`
	Project     string      `json:"project"`
	App         string      `json:"app"`
	Environment string      `json:"environment"`
	Stage       string      `json:"stage"`
	Image       string      `json:"image"`
	Digest      string      `json:"digest"`
	Policies    []PolicyRef `json:"policies"`
	Requester   string      `json:"requester"`
	// RequesterPerson is who the request counts as raised by: the requester, or for a service
	// account's token, the person who made the token.
	RequesterPerson string            `json:"requester_person,omitempty"`
	Comment         string            `json:"comment"`
	Labels          map[string]string `json:"labels"`
	Notify          []string          `json:"notify"`
	State           ApprovalState     `json:"state"`
	Reason          string            `json:"reason,omitempty"`
	Votes           []Vote            `json:"votes"`
	Verdicts        []Verdict         `json:"verdicts"`
	Deployment      int64             `json:"deployment,omitempty"`
	CreatedAt       time.Time         `json:"created_at"`
	ExpiresAt       *time.Time        `json:"expires_at,omitempty"`
	DecidedAt       *time.Time        `json:"decided_at,omitempty"`
}

// Target is the access target of the request: its app and environment.
func (r *ApprovalRequest) Target() Target {
	return Target{Project: r.Project, App: r.App, Env: r.Environment}
}

// Approvers lists the people who approved, in voting order.
func (r *ApprovalRequest) Approvers() []string { return approvers(r.Votes) }

func approvers(votes []Vote) []string {
	var out []string
	for _, v := range votes {
		if v.Approve {
			out = append(out, v.Voter)
		}
	}
	return out
}

// ApprovalCreate raises an approval request.
type ApprovalCreate struct {
	Environment string            `json:"environment"`
	Digest      string            `json:"digest"`
	Comment     string            `json:"comment"`
	Labels      map[string]string `json:"labels"`
	Notify      []string          `json:"notify"`
}

// validateNotify checks the people a request or proposal names to notify.
func validateNotify(names []string) error {
	if len(names) > 50 {
		return Invalidf("notify", "names %d people: expected at most 50", len(names))
	}
	for _, n := range names {
		if err := ValidateUserName("notify", n); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks every field.
func (in ApprovalCreate) Validate() error {
	if err := ValidateName("environment", in.Environment); err != nil {
		return err
	}
	if err := ValidateDigest("digest", in.Digest); err != nil {
		return err
	}
	if err := validateText("comment", in.Comment, 4096); err != nil {
		return err
	}
	if err := validateNotify(in.Notify); err != nil {
		return err
	}
	return ValidateLabels("labels", in.Labels)
}

// Decision is a vote's input: a comment (a reason, for a rejection) and, for a draft, the
// version the voter reviewed; a vote for a version that is no longer the latest is refused.
type Decision struct {
	Comment string `json:"comment"`
	Version int64  `json:"version,omitempty"`
}

// ApprovalFilter selects approval requests.
type ApprovalFilter struct {
	Project     string
	App         string
	Environment string
	State       ApprovalState
	// ForMe selects open requests the caller could approve now (the approvals inbox).
	ForMe bool
	Limit int
	// Cursor is where the page starts: a Page's Next ("" for the newest).
	Cursor string
}

// ApprovalService raises, decides and reads approval requests. Votes are people's: service
// accounts and API tokens (as opposed to an interactive sign-in) never approve.
type ApprovalService interface {
	// RequestApproval raises a request for an artifact on a gated stage and notifies the
	// chosen approvers (all eligible ones when none are chosen). Errors: invalid input; not
	// found; forbidden without request-approval on the stage; precondition failed when no
	// policy gates the stage, the artifact is retracted or fails a policy condition; conflict
	// when an open request for the same artifact and stage exists.
	RequestApproval(ctx context.Context, project, app string, in ApprovalCreate) (*ApprovalRequest, error)
	// Approval returns a request with its votes and verdicts. Errors: not found.
	Approval(ctx context.Context, id int64) (*ApprovalRequest, error)
	// Approvals lists a page of the requests the caller may see, newest first. Errors: invalid
	// limit, state or cursor.
	Approvals(ctx context.Context, f ApprovalFilter) (Page[*ApprovalRequest], error)
	// Approve records the caller's approval; when every policy is met the request is approved,
	// and on an auto stage the deployment starts at once. Errors: not found; forbidden for
	// service accounts, API tokens, and people who may not approve here (with why);
	// precondition failed when the request is not open; conflict when the caller voted.
	Approve(ctx context.Context, id int64, d Decision) (*ApprovalRequest, error)
	// Reject ends a pending request; the comment is the reason and is required. Errors: as
	// Approve; invalid without a reason.
	Reject(ctx context.Context, id int64, d Decision) (*ApprovalRequest, error)
	// Cancel ends an open request; only its requester may. Errors: not found; forbidden;
	// precondition failed when not open.
	Cancel(ctx context.Context, id int64) (*ApprovalRequest, error)
	// Review returns the request with what would change in its environment (image and values
	// against the last successful deployment, secrets masked). Errors: not found.
	Review(ctx context.Context, id int64) (*ApprovalReview, error)
}
