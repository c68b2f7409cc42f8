package gatehouse

import "context"

// ApprovalReview is what an approver needs to decide: the request, the image, and what would
// change in the environment compared with its last successful deployment (secret values
// masked).
type ApprovalReview struct {
	Request *ApprovalRequest `json:"request"`
	Voter   string           `json:"voter,omitempty"`
	DeploymentPreview
}

// LinkBallot is what an approve link leads to, for the person it was sent to: an approval
// request's review, or a draft (with its change against what is live).
type LinkBallot struct {
	Voter   string          `json:"voter"`
	Request *ApprovalReview `json:"request,omitempty"`
	Draft   *Draft          `json:"draft,omitempty"`
}

// Links are the single-use approve links sent by e-mail, for every kind of ballot. A link names
// a ballot and the person it was sent to; opening it shows the ballot (GET changes nothing)
// and only a POST of the confirmation page spends it, recording that person's vote.
type Links interface {
	// LinkBallot returns what a link leads to without spending it. Errors: unauthenticated
	// when the link is unknown, used or expired.
	LinkBallot(ctx context.Context, token Secret) (*LinkBallot, error)
	// RedeemLink spends the link and records the vote of the person it was sent to, in one
	// transaction: of any number of concurrent redemptions exactly one records a vote. It
	// returns the ballot as the vote left it. Errors: unauthenticated when the link is
	// unknown, used or expired; whatever voting refuses (see ApprovalService.Approve and
	// DraftService.ApproveDraft), in which case the link stays unspent.
	RedeemLink(ctx context.Context, token Secret, approve bool, d Decision) (*LinkBallot, error)
}

// Token prefixes of approve links: what a link approves shows in its first characters, so a
// page can route it without asking the store.
const (
	ApprovalLinkPrefix = "gha_"
	DraftLinkPrefix    = "ghc_"
)
