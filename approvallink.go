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

// ApprovalLinks are the single-use approve links sent by e-mail. A link names a request and
// the person it was sent to; opening it shows the review (GET changes nothing) and only a
// POST of the confirmation page spends it, recording that person's vote.
type ApprovalLinks interface {
	// LinkReview returns the review behind a link without spending it. Errors:
	// unauthenticated when the link is unknown, used or expired.
	LinkReview(ctx context.Context, token Secret) (*ApprovalReview, error)
	// RedeemLink spends the link and records the vote of the person it was sent to, in one
	// transaction: of any number of concurrent redemptions exactly one records a vote.
	// Errors: unauthenticated when the link is unknown, used or expired; whatever voting
	// refuses (see ApprovalService.Approve), in which case the link stays unspent.
	RedeemLink(ctx context.Context, token Secret, approve bool, d Decision) (*ApprovalRequest, error)
}

// Token prefixes of approve links: what a link approves shows in its first characters, so a
// page can route it without asking the store.
const (
	ApprovalLinkPrefix = "gha_"
	DraftLinkPrefix    = "ghc_"
)

// DraftReview is what a config approver needs to decide on a draft reached by an approve link:
// the draft with its change against the live configuration (secret values masked).
type DraftReview struct {
	Draft *ConfigDraft `json:"draft"`
	Voter string       `json:"voter"`
}

// DraftLinks are the single-use approve links to config drafts, with the same guarantees as
// ApprovalLinks: a GET changes nothing, redeeming spends the link and votes in one transaction.
type DraftLinks interface {
	DraftLinkReview(ctx context.Context, token Secret) (*DraftReview, error)
	RedeemDraftLink(ctx context.Context, token Secret, approve bool, d Decision) (*ConfigDraft, error)
}
