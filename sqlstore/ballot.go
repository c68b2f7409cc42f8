package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// ballot is what the one vote path needs of a ballot of any flow: an approval request or a
// draft of any kind. The flows differ only in the data and the few steps they supply here.
type ballot interface {
	flow() gatehouse.BallotFlow
	id() int64
	state() gatehouse.BallotState
	// version is the version votes are cast on now (requests have one).
	version() int64
	// votes are those cast on the current version, in order.
	votes() []gatehouse.Vote
	// target is where the ballot is seen from (visibility, audit).
	target() gatehouse.Target
	// standing is who judges the ballot now, and the facts they judge by.
	standing(tx *Tx) (gatehouse.Standing, error)
	// approved follows the ballot's move to approved (notify, start an auto deployment).
	approved(tx *Tx) error
	// rejected moves the ballot on after a rejection, d carrying the reason.
	rejected(tx *Tx, d gatehouse.Decision) error
	// setState keeps the ballot's in-memory state in step with the row (decided is the moment
	// of decision, or nil).
	setState(to gatehouse.BallotState, reason string, decided *time.Time)
	// addVote keeps the ballot's in-memory votes in step with the rows.
	addVote(v gatehouse.Vote)
}

// flowTable is where a flow keeps its ballots, and how its audit events are named.
var flowTable = map[gatehouse.BallotFlow]struct {
	table, noun, touch string
	// stamps name the column keeping the moment a ballot reached a state, for delivery
	// metrics: the first time (first) or the last.
	stamps map[gatehouse.BallotState]stamp
}{
	gatehouse.FlowRequest: {table: "approvals", noun: "approval", stamps: map[gatehouse.BallotState]stamp{gatehouse.ApprovalApproved: {column: "approved_at"}}},
	gatehouse.FlowReview:  {table: "reviews", noun: "review"},
	gatehouse.FlowDraft: {table: "drafts", noun: "draft", touch: ", updated_at = $4", stamps: map[gatehouse.BallotState]stamp{
		gatehouse.DraftProposed: {column: "proposed_at", first: true}, gatehouse.DraftApproved: {column: "approved_at"},
		gatehouse.DraftPublished: {column: "published_at"}}},
}

type stamp struct {
	column string
	first  bool
}

// set is the SQL setting the stamp to the moment in parameter n.
func (s stamp) set(n int) string {
	if s.first {
		return fmt.Sprintf(", %s = COALESCE(%s, $%d)", s.column, s.column, n)
	}
	return fmt.Sprintf(", %s = $%d", s.column, n)
}

// describe names a ballot for people: "approval request 5", "draft 7".
func describe(b ballot) string {
	switch b.flow() {
	case gatehouse.FlowRequest:
		return fmt.Sprintf("approval request %d", b.id())
	case gatehouse.FlowReview:
		return fmt.Sprintf("break-glass review %d", b.id())
	}
	return fmt.Sprintf("draft %d", b.id())
}

func resourceOf(b ballot) string { return fmt.Sprintf("%s/%d", flowTable[b.flow()].noun, b.id()) }

// moveBallot moves a ballot to a state its flow's transition table allows, records the reason
// and the moment of decision, and audits the move with details.
func (tx *Tx) moveBallot(b ballot, to gatehouse.BallotState, reason string, details map[string]any) error {
	from := b.state()
	if !b.flow().CanMove(from, to) {
		return fmt.Errorf("%s cannot move from %s to %s", describe(b), from, to)
	}
	var decided sql.NullInt64
	if to == b.flow().Met() || !to.Open() {
		decided = sql.NullInt64{Int64: micro(tx.now), Valid: true}
	}
	ft := flowTable[b.flow()]
	args := []any{to, reason, decided}
	if ft.touch != "" {
		args = append(args, micro(tx.now))
	}
	set := ft.touch
	if st, ok := ft.stamps[to]; ok {
		args = append(args, micro(tx.now))
		set += st.set(len(args))
	}
	args = append(args, b.id())
	if _, err := tx.ExecContext(tx.ctx, fmt.Sprintf(`UPDATE %s SET state = $1, reason = $2, decided_at = $3%s WHERE id = $%d`,
		ft.table, set, len(args)), args...); err != nil {
		return fmt.Errorf("%s state: %w", ft.noun, err)
	}
	b.setState(to, reason, fromNullMicro(decided))
	if r, ok := b.(approvalRow); ok && to == gatehouse.ApprovalApproved {
		tx.observeApproval(r)
	}
	if details == nil {
		details = map[string]any{}
	}
	details["reason"] = reason
	if b.flow() == gatehouse.FlowDraft {
		details["version"] = b.version()
	}
	return tx.audit(change{action: ft.noun + "." + string(to), resource: resourceOf(b), target: b.target(),
		before: map[string]any{"state": from}, after: map[string]any{"state": to}, details: details})
}

// judgement is a ballot's verdicts now: its standing, what its judges need of each voter,
// and one verdict per judge.
type judgement struct {
	gatehouse.Standing
	voters   []map[string]gatehouse.Voter
	verdicts []gatehouse.Verdict
}

func (j judgement) met() bool         { return gatehouse.GateOpen(j.verdicts) }
func (j judgement) missing() []string { return gatehouse.GateMissing(j.verdicts) }

// judge evaluates votes under a standing, with eligibility as it is now. It is the one judge
// of every ballot.
func judge(ctx context.Context, q querier, st gatehouse.Standing, votes []gatehouse.Vote) (judgement, error) {
	r, err := loadRoster(ctx, q, voterNames(votes), approveActions(st))
	if err != nil {
		return judgement{}, err
	}
	return r.judge(st, votes), nil
}

// judge evaluates votes under a standing with the voters read already (a list reads them once
// for all its ballots).
func (r roster) judge(st gatehouse.Standing, votes []gatehouse.Vote) judgement {
	vs := r.of(st, voterNames(votes))
	return judgement{Standing: st, voters: vs, verdicts: st.Judge(approvers(votes), vs)}
}

func voterNames(votes []gatehouse.Vote) []string {
	var out []string
	for _, v := range votes {
		out = append(out, v.Voter)
	}
	return out
}

func approvers(votes []gatehouse.Vote) []string {
	var out []string
	for _, v := range votes {
		if v.Approve {
			out = append(out, v.Voter)
		}
	}
	return out
}

// mayVoteAs checks the caller is a person who signed in, has not voted on this version, and
// counts under at least one judge; vs holds what the judges need of the caller.
func mayVoteAs(ctx context.Context, b ballot, st gatehouse.Standing, vs []map[string]gatehouse.Voter) error {
	who := gatehouse.ActorFrom(ctx)
	if !who.CastsVotes() {
		return gatehouse.Forbiddenf("%s may not vote: approvals are cast by people who signed in (the web UI, `gatehouse login` or the e-mail link); API tokens and service accounts never approve", who.UserName)
	}
	if slices.ContainsFunc(b.votes(), func(v gatehouse.Vote) bool { return v.Voter == who.UserName }) {
		return alreadyVoted(b, who.UserName)
	}
	if len(st.Judges) == 0 {
		return gatehouse.Errorf(gatehouse.KindPreconditionFailed, "no policy judges %s any more", describe(b))
	}
	per := make([]gatehouse.Voter, len(vs))
	for i := range vs {
		per[i] = vs[i][who.UserName]
	}
	if ok, why := st.MayVote(per); !ok {
		return gatehouse.Forbiddenf("%s may not approve %s: %s", who.UserName, describe(b), strings.Join(why, "; "))
	}
	return nil
}

func alreadyVoted(b ballot, voter string) error {
	if b.flow() == gatehouse.FlowDraft {
		return gatehouse.Conflictf("%s already voted on version %d of %s", voter, b.version(), describe(b))
	}
	return gatehouse.Conflictf("%s already voted on %s", voter, describe(b))
}

// castVote is the one vote path: it records the caller's vote on the ballot's current
// version, which the decision must name for a draft (a vote for a version the voter did not
// see would approve what they did not read). An approval that meets every judge approves the
// ballot; a rejection hands it to the flow. The ballot must be locked by the caller, and st
// be its standing now. It returns the verdicts with the new vote counted, judged with one
// read of the voters.
func (tx *Tx) castVote(b ballot, st gatehouse.Standing, approve bool, d gatehouse.Decision) ([]gatehouse.Verdict, error) {
	if len(d.Comment) > 4096 {
		return nil, gatehouse.Invalidf("comment", "is %d bytes: expected at most 4096", len(d.Comment))
	}
	if !approve && strings.TrimSpace(d.Comment) == "" {
		return nil, gatehouse.Invalidf("comment", "is required: a rejection says why")
	}
	if !b.flow().Votable(b.state()) {
		return nil, gatehouse.Errorf(gatehouse.KindPreconditionFailed, "%s is %s: it takes no votes", describe(b), b.state())
	}
	if b.flow() == gatehouse.FlowDraft {
		switch {
		case d.Version <= 0:
			return nil, gatehouse.Invalidf("version", "is required: the version of %s you reviewed (it is at version %d)", describe(b), b.version())
		case d.Version != b.version():
			return nil, gatehouse.Conflictf("changed since you looked: %s is at version %d, you reviewed version %d: review version %d", describe(b), b.version(), d.Version, b.version())
		}
	}
	who := gatehouse.ActorFrom(tx.ctx)
	names := []string{who.UserName}
	for _, v := range b.votes() {
		names = append(names, v.Voter)
	}
	vs, err := votersOf(tx.ctx, tx, st, names)
	if err != nil {
		return nil, err
	}
	if err := mayVoteAs(tx.ctx, b, st, vs); err != nil {
		return nil, err
	}
	v := gatehouse.Vote{Voter: who.UserName, Version: b.version(), Approve: approve, Comment: d.Comment, Via: who.Via, Time: tx.now}
	_, err = tx.ExecContext(tx.ctx, `INSERT INTO ballot_votes (flow, ballot_id, version, voter, approve, comment, via, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, b.flow(), b.id(), v.Version, v.Voter, v.Approve, v.Comment, v.Via, micro(tx.now))
	if isUniqueViolation(err) {
		return nil, alreadyVoted(b, who.UserName)
	} else if err != nil {
		return nil, fmt.Errorf("insert vote: %w", err)
	}
	b.addVote(v)
	details := map[string]any{"approve": approve, "comment": d.Comment, "via": who.Via}
	if b.flow() == gatehouse.FlowDraft {
		details["version"] = v.Version
	}
	if err := tx.audit(change{action: flowTable[b.flow()].noun + ".vote", resource: resourceOf(b), target: b.target(), details: details}); err != nil {
		return nil, err
	}
	verdicts := st.Judge(approvers(b.votes()), vs)
	if !approve {
		return verdicts, b.rejected(tx, d)
	}
	if b.state() == b.flow().Met() || !gatehouse.GateOpen(verdicts) {
		return verdicts, nil
	}
	if err := tx.moveBallot(b, b.flow().Met(), "", nil); err != nil {
		return nil, err
	}
	return verdicts, b.approved(tx)
}

// votesOf reads the votes cast on a ballot's version, in the order they were cast.
func votesOf(ctx context.Context, q querier, flow gatehouse.BallotFlow, id, version int64) ([]gatehouse.Vote, error) {
	votes, err := votesOn(ctx, q, flow, map[int64]int64{id: version})
	return votes[id], err
}

// votesOn reads, in one query, the votes cast on ballots of a flow at their versions
// (versions maps each ballot's id to its version), each ballot's in the order they were cast.
// Every ballot asked for has an entry, if only an empty one.
func votesOn(ctx context.Context, q querier, flow gatehouse.BallotFlow, versions map[int64]int64) (map[int64][]gatehouse.Vote, error) {
	out := map[int64][]gatehouse.Vote{}
	args := []any{flow}
	for id := range versions {
		out[id] = []gatehouse.Vote{}
		args = append(args, id)
	}
	if len(versions) == 0 {
		return out, nil
	}
	err := eachRow(ctx, q, `SELECT ballot_id, voter, version, approve, comment, via, at FROM ballot_votes
		WHERE flow = $1 AND ballot_id IN (`+placeholders(2, len(versions))+`) ORDER BY at, voter`, args, func(row scanner) error {
		var id, at int64
		var v gatehouse.Vote
		if err := row.Scan(&id, &v.Voter, &v.Version, &v.Approve, &v.Comment, &v.Via, &at); err != nil {
			return err
		}
		if v.Version == versions[id] {
			v.Time = fromMicro(at)
			out[id] = append(out[id], v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("votes: %w", err)
	}
	return out, nil
}
