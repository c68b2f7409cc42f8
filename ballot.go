package gatehouse

import "slices"

// BallotFlow is how a kind of ballot lives. Every ballot is something proposed, judged by the
// policies that reach it, voted on by eligible, distinct people for one version of it, then
// used. A request (an image approval) is raised once for fixed content (a digest under policy
// versions) and is consumed by the one deployment it allows. A draft (a configuration change,
// a setting of an environment or app, a policy loosening, a rollback) has versions: votes
// count for the version they name, and an approved draft is published.
type BallotFlow string

// The ballot flows.
const (
	FlowRequest BallotFlow = "request"
	FlowDraft   BallotFlow = "draft"
	// FlowReview is the review of a use of break-glass: the approvers of what it passed over
	// acknowledge it, each with a comment, after the fact.
	FlowReview BallotFlow = "review"
)

// BallotState is where a ballot is in its life. ApprovalState and DraftState name the
// states of each flow; the names are shared where the meaning is ("approved").
type BallotState string

// ApprovalState is the state of an approval request (FlowRequest).
type ApprovalState = BallotState

// DraftState is the state of a draft (FlowDraft).
type DraftState = BallotState

// The states of approval requests: pending until the policies are met (approved), then
// consumed by the one deployment it buys; or cancelled (by its requester), rejected (by an
// approver), expired, or stale (a policy changed or the artifact was retracted).
const (
	ApprovalPending   BallotState = "pending"
	ApprovalApproved  BallotState = "approved"
	ApprovalConsumed  BallotState = "consumed"
	ApprovalCancelled BallotState = "cancelled"
	ApprovalRejected  BallotState = "rejected"
	ApprovalExpired   BallotState = "expired"
	ApprovalStale     BallotState = "stale"
)

// The states of drafts: draft (being written) → proposed (waiting for approvals) → approved
// (its judges are met for its latest version) → published; or discarded. A rejection sends
// it back to draft; a new version, or approvals that no longer suffice, back to proposed.
const (
	DraftOpen      BallotState = "draft"
	DraftProposed  BallotState = "proposed"
	DraftApproved  BallotState = "approved"
	DraftPublished BallotState = "published"
	DraftDiscarded BallotState = "discarded"
)

// The states of break-glass reviews: open until enough approvers acknowledged the use.
const (
	ReviewOpen         BallotState = "open"
	ReviewAcknowledged BallotState = "acknowledged"
)

// ApprovalStates lists every approval request state.
var ApprovalStates = []BallotState{ApprovalPending, ApprovalApproved, ApprovalConsumed, ApprovalCancelled, ApprovalRejected, ApprovalExpired, ApprovalStale}

// DraftStates lists every draft state.
var DraftStates = []BallotState{DraftOpen, DraftProposed, DraftApproved, DraftPublished, DraftDiscarded}

// ballotMoves is the transition table of each flow: from a state, the states a ballot may
// move to. A state with no moves is final.
var ballotMoves = map[BallotFlow]map[BallotState][]BallotState{
	FlowRequest: {
		ApprovalPending:  {ApprovalApproved, ApprovalRejected, ApprovalCancelled, ApprovalExpired, ApprovalStale},
		ApprovalApproved: {ApprovalConsumed, ApprovalRejected, ApprovalCancelled, ApprovalExpired, ApprovalStale},
	},
	FlowDraft: {
		DraftOpen:     {DraftProposed, DraftDiscarded},
		DraftProposed: {DraftApproved, DraftOpen, DraftDiscarded},
		DraftApproved: {DraftPublished, DraftProposed, DraftOpen, DraftDiscarded},
	},
	FlowReview: {ReviewOpen: {ReviewAcknowledged}},
}

// votable lists, per flow, the states in which a ballot takes votes.
var votable = map[BallotFlow][]BallotState{
	FlowRequest: {ApprovalPending, ApprovalApproved},
	FlowDraft:   {DraftProposed, DraftApproved},
	FlowReview:  {ReviewOpen},
}

// Met is the state a ballot of the flow moves to once its judges are met.
func (f BallotFlow) Met() BallotState {
	if f == FlowReview {
		return ReviewAcknowledged
	}
	return ApprovalApproved
}

// CanMove reports whether the flow's transition table allows moving from one state to the
// other.
func (f BallotFlow) CanMove(from, to BallotState) bool {
	return slices.Contains(ballotMoves[f][from], to)
}

// Votable reports whether a ballot of the flow in state s takes votes.
func (f BallotFlow) Votable(s BallotState) bool { return slices.Contains(votable[f], s) }

// Open reports whether a ballot in state s can still change: it has moves left in its flow.
func (s BallotState) Open() bool {
	for _, moves := range ballotMoves {
		if len(moves[s]) > 0 {
			return true
		}
	}
	return false
}
