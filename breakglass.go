package gatehouse

import (
	"context"
	"strings"
	"time"
)

// MinBreakGlassReason is the fewest characters a break-glass reason has: enough to say what
// is on fire.
const MinBreakGlassReason = 20

// ValidateBreakGlassReason checks a break-glass reason: at least MinBreakGlassReason
// characters besides spaces, at most 2000.
func ValidateBreakGlassReason(field, reason string) error {
	r := strings.TrimSpace(reason)
	if n := len([]rune(r)); n < MinBreakGlassReason || n > 2000 {
		return Invalidf(field, "is %d characters: expected a reason of %d to 2000 (what is broken, and why it cannot wait)", n, MinBreakGlassReason)
	}
	return nil
}

// MayBreakGlass checks the actor may break the glass at the target: a person who signed in
// (never an API token, never a service account — as votes) holding break-glass there.
func (a *Actor) MayBreakGlass(t Target) error {
	if !a.CastsVotes() {
		return Forbiddenf("%s may not break the glass: it is used by a person who signed in (the web UI or `gatehouse login`), never through an API token or a service account", a.UserName)
	}
	if !a.Can(ActionBreakGlass, t) {
		return Forbiddenf("%s may not break the glass in %s: that takes the break-glass role there", a.UserName, t)
	}
	return nil
}

// BreakGlass events: every use is told at once to the approvers of the policies it passed
// over and to the project's webhooks; an overdue review is told again.
const (
	EventBreakGlassUsed    = "breakglass.used"
	EventBreakGlassOverdue = "breakglass.overdue"
)

// BreakGlassEvents lists every break-glass event.
var BreakGlassEvents = []string{EventBreakGlassUsed, EventBreakGlassOverdue}

// Review is the post-incident review of a deployment that a person started with break-glass:
// a ballot (FlowReview) that ReviewCount approvers of each policy it passed over acknowledge,
// with a comment, before DueAt. One that passed over only windows is reviewed under the
// image policies of its target, or by nobody when none reaches it.
type Review struct {
	ID          int64  `json:"id"`
	Deployment  int64  `json:"deployment"`
	Project     string `json:"project"`
	App         string `json:"app"`
	Environment string `json:"environment"`
	// By is the person who broke the glass; Reason what they wrote.
	By     string `json:"by"`
	Reason string `json:"reason"`
	// Skipped are the policies whose gate it passed over, Windows the closed windows.
	Skipped  []string    `json:"skipped"`
	Windows  []string    `json:"windows"`
	State    BallotState `json:"state"`
	Votes    []Vote      `json:"votes"`
	Verdicts []Verdict   `json:"verdicts"`
	DueAt    time.Time   `json:"due_at"`
	// Overdue is set, as read, on an open review past its due time.
	Overdue   bool       `json:"overdue"`
	CreatedAt time.Time  `json:"created_at"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
}

// Acknowledgers are the people who acknowledged the review, in order.
func (r *Review) Acknowledgers() []string { return approvers(r.Votes) }

// ReviewPolicy is the rule a review judges by for a policy it passed over: ReviewCount of the
// policy's approvers, where it counts them, never the person who broke the glass.
func ReviewPolicy(p *Policy) *Policy {
	spec := PolicySpec{Name: p.Name, Kind: p.Kind, Scope: p.Scope, Rules: []Rule{{Kind: RuleAny, Count: p.ReviewCount()}}}
	return &Policy{ID: p.ID, PolicySpec: spec, Version: p.Version}
}

// ReviewDue is when a review of a use that passed over the policies is due: the shortest of
// their periods (the default with none).
func ReviewDue(at time.Time, ps []*Policy) time.Time {
	d := DefaultReviewWithin
	for i, p := range ps {
		if i == 0 || p.ReviewPeriod() < d {
			d = p.ReviewPeriod()
		}
	}
	return at.Add(d)
}

// ReviewFilter selects reviews: state "" for every state; Overdue for open ones past due.
type ReviewFilter struct {
	Project string
	State   BallotState
	Overdue bool
	Limit   int // default 50, at most 500
}

// ReviewService serves the reviews of break-glass deployments.
type ReviewService interface {
	// Reviews lists the reviews the caller may see, newest first. Errors: invalid filter.
	Reviews(ctx context.Context, f ReviewFilter) ([]*Review, error)
	// Review returns one. Errors: not found.
	Review(ctx context.Context, id int64) (*Review, error)
	// AcknowledgeReview records the caller's acknowledgement, which needs a comment; enough
	// of them acknowledge the review. Errors: invalid (no comment); forbidden (not an
	// approver it counts, the person who broke the glass, a token or a service account);
	// conflict (already acknowledged by the caller); precondition failed (not open).
	AcknowledgeReview(ctx context.Context, id int64, d Decision) (*Review, error)
}
