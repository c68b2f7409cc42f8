package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// RequestApproval implements gatehouse.ApprovalService.
func (s *ApprovalService) RequestApproval(ctx context.Context, project, app string, in gatehouse.ApprovalCreate) (*gatehouse.ApprovalRequest, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var id int64
	err := s.db.write(ctx, func(tx *Tx) error {
		who, a, err := visibleApp(ctx, tx, project, app)
		if err != nil {
			return err
		}
		e, err := findEnvironment(ctx, tx, project, in.Environment)
		if err != nil {
			return err
		}
		t := gatehouse.Target{Project: project, App: app, Env: in.Environment}
		if err := who.Require(gatehouse.ActionRequestApproval, t); err != nil {
			return err
		}
		p, err := readPipeline(ctx, tx, a)
		if err != nil {
			return err
		}
		st := p.StageFor(in.Environment)
		if st == nil {
			return gatehouse.Errorf(gatehouse.KindPreconditionFailed, "environment %q is not a stage of app %s's pipeline", in.Environment, app)
		}
		art, err := findArtifact(ctx, tx, a, in.Digest)
		if err != nil {
			return err
		}
		if art.RetractedAt != nil {
			return gatehouse.Errorf(gatehouse.KindPreconditionFailed, "artifact %s was retracted: it cannot be approved", art.Digest)
		}
		policies, err := matchingPolicies(ctx, tx, t, gatehouse.PolicyImage)
		if err != nil {
			return err
		}
		if len(policies) == 0 {
			return gatehouse.Errorf(gatehouse.KindPreconditionFailed, "stage %s of app %s is not gated by any policy: deploy it directly", st.Name, app)
		}
		if err := conditionsHold(policies, art); err != nil {
			return err
		}
		var expires sql.NullInt64
		for _, pol := range policies {
			if d := pol.ExpiryDuration(); d > 0 && (!expires.Valid || micro(tx.now.Add(d)) < expires.Int64) {
				expires = sql.NullInt64{Int64: micro(tx.now.Add(d)), Valid: true}
			}
		}
		notify, err := tx.recipients(in.Notify, t, gatehouse.PolicyImage)
		if err != nil {
			return err
		}
		labels := in.Labels
		if labels == nil {
			labels = map[string]string{}
		}
		pj, _ := json.Marshal(refs(policies))
		lj, _ := json.Marshal(labels)
		nj, _ := json.Marshal(notify)
		err = tx.QueryRowContext(ctx, `INSERT INTO approvals (app_id, environment_id, stage, artifact_id, image, digest, policies, requester,
			comment, labels, notify, state, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'pending', $12, $13) RETURNING id`,
			a.ID, e.ID, st.Name, art.ID, art.Reference(), art.Digest, string(pj), who.UserName, in.Comment, string(lj), string(nj),
			micro(tx.now), expires).Scan(&id)
		if isUniqueViolation(err) {
			var open int64
			_ = tx.QueryRowContext(ctx, `SELECT id FROM approvals WHERE app_id = $1 AND environment_id = $2 AND digest = $3
				AND state IN ('pending', 'approved')`, a.ID, e.ID, art.Digest).Scan(&open)
			return gatehouse.Conflictf("approval request %d for this artifact on %s is already open", open, in.Environment)
		} else if err != nil {
			return fmt.Errorf("insert approval: %w", err)
		}
		r, err := findApproval(ctx, tx, id, "")
		if err != nil {
			return err
		}
		if err := tx.audit(change{action: "approval.request", resource: fmt.Sprintf("approval/%d", id), target: t,
			after:   map[string]any{"state": r.State, "digest": r.Digest, "image": r.Image, "policies": r.Policies, "notify": notify, "labels": labels},
			details: map[string]any{"comment": in.Comment}}); err != nil {
			return err
		}
		return tx.notify(gatehouse.EventApprovalRequested, r.ApprovalRequest, notify)
	})
	if err != nil {
		return nil, err
	}
	return s.Approval(ctx, id)
}

// conditionsHold checks every policy's conditions on the artifact.
func conditionsHold(policies []*gatehouse.Policy, art *gatehouse.Artifact) error {
	for _, p := range policies {
		conds, err := gatehouse.CompileConditions("conditions", p.Conditions)
		if err != nil {
			return fmt.Errorf("policy %s: %w", p.Name, err)
		}
		if failing := conds.Failing(art); len(failing) > 0 {
			return gatehouse.Errorf(gatehouse.KindPreconditionFailed, "artifact %s fails policy %s: %s is not true",
				art.Digest, p.Name, strings.Join(failing, "; "))
		}
	}
	return nil
}

// recipients checks the chosen approvers exist, or picks everyone eligible on the target to
// approve under policies of the kind.
func (tx *Tx) recipients(chosen []string, t gatehouse.Target, kind gatehouse.PolicyKind) ([]string, error) {
	if len(chosen) > 0 {
		for _, n := range chosen {
			var x int
			if err := tx.QueryRowContext(tx.ctx, `SELECT 1 FROM users WHERE name = $1`, n).Scan(&x); err != nil {
				return nil, gatehouse.Invalidf("notify", "user %q does not exist", n)
			}
		}
		return slices.Compact(slices.Sorted(slices.Values(chosen))), nil
	}
	names, err := queryAll(tx.ctx, tx, scanString, `SELECT DISTINCT u.name FROM users u WHERE u.id IN (
		SELECT subject_id FROM role_bindings WHERE subject_kind = 'user' AND role = $1
		UNION SELECT m.user_id FROM group_members m JOIN role_bindings b ON b.subject_kind = 'group' AND b.subject_id = m.group_id AND b.role = $1)
		ORDER BY u.name`, kind.ApproverRole())
	if err != nil {
		return nil, fmt.Errorf("approvers: %w", err)
	}
	voters, err := loadVoters(tx.ctx, tx, names, t, kind)
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, n := range names {
		if voters[n].Eligible {
			out = append(out, n)
		}
	}
	return out, nil
}

// Approval implements gatehouse.ApprovalService.
func (s *ApprovalService) Approval(ctx context.Context, id int64) (*gatehouse.ApprovalRequest, error) {
	who, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	r, err := findApproval(ctx, s.db.r, id, "")
	if err != nil {
		return nil, err
	}
	if !who.CanSee(r.Target()) {
		return nil, gatehouse.NotFoundf("approval request %d not found", id)
	}
	j, err := judge(ctx, s.db.r, r)
	if err != nil {
		return nil, err
	}
	r.Verdicts = j.verdicts
	return r.ApprovalRequest, nil
}

// Approvals implements gatehouse.ApprovalService.
func (s *ApprovalService) Approvals(ctx context.Context, f gatehouse.ApprovalFilter) ([]*gatehouse.ApprovalRequest, error) {
	who, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	q, args, err := filterOf(f.Project, f.App, f.Environment, f.State, gatehouse.ApprovalStates, f.ForMe, f.Limit).
		query(approvalSelect, "a", `'pending', 'approved'`)
	if err != nil {
		return nil, err
	}
	rows, err := queryAll(ctx, s.db.r, scanApproval, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list approvals: %w", err)
	}
	policies, err := allPolicies(ctx, s.db.r)
	if err != nil {
		return nil, err
	}
	me := map[gatehouse.Target]gatehouse.Voter{} // what the rules need of the caller, per target
	out := []*gatehouse.ApprovalRequest{}
	for _, r := range rows {
		if !who.CanSee(r.Target()) {
			continue
		}
		full, err := withVotes(ctx, s.db.r, r)
		if err != nil {
			return nil, err
		}
		j, err := judgeAmong(ctx, s.db.r, full, policies)
		if err != nil {
			return nil, err
		}
		full.Verdicts = j.verdicts
		if f.ForMe && !s.canVote(ctx, who, full, j, me) {
			continue
		}
		out = append(out, full.ApprovalRequest)
	}
	return out, nil
}

// canVote reports whether the caller could vote on the request now, and would count. me
// keeps what the rules need of the caller per target, read once per list.
func (s *ApprovalService) canVote(ctx context.Context, who *gatehouse.Actor, r approvalRow, j judgement, me map[gatehouse.Target]gatehouse.Voter) bool {
	if slices.ContainsFunc(r.Votes, func(v gatehouse.Vote) bool { return v.Voter == who.UserName }) || j.stale != "" {
		return false
	}
	voter, ok := me[r.Target()]
	if !ok {
		voters, err := loadVoters(ctx, s.db.r, []string{who.UserName}, r.Target(), gatehouse.PolicyImage)
		if err != nil {
			return false
		}
		voter = voters[who.UserName]
		me[r.Target()] = voter
	}
	return slices.ContainsFunc(j.policies, func(p *gatehouse.Policy) bool {
		ok, _ := p.MayCount(voter, j.facts)
		return ok
	})
}

// errAfterCommit carries an error to return once the transaction that recorded what led to
// it (an expiry, a request gone stale) has committed.
type errAfterCommit struct{ err error }

func (e errAfterCommit) Error() string { return e.err.Error() }

// voteTx runs a vote in a transaction of its own (see voteIn) on the request locate names in
// that transaction, and returns the request as the vote left it.
func (s *ApprovalService) voteTx(ctx context.Context, locate func(tx *Tx) (int64, error), cast func(tx *Tx, r approvalRow, j *judgement) error) (*gatehouse.ApprovalRequest, error) {
	var after error
	var out *gatehouse.ApprovalRequest
	err := s.db.write(ctx, func(tx *Tx) error {
		id, err := locate(tx)
		if err != nil {
			return err
		}
		out, after, err = voteIn(tx, id, cast)
		return err
	})
	if err == nil {
		err = after
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// request locates a request by its id.
func request(id int64) func(*Tx) (int64, error) { return func(*Tx) (int64, error) { return id, nil } }

// voteIn locks the request and, when it can still be voted on, calls cast. A request that
// expired or went stale is ended instead; that change must commit, so why the vote did not
// happen comes back as after, not as err.
func voteIn(tx *Tx, id int64, cast func(tx *Tx, r approvalRow, j *judgement) error) (out *gatehouse.ApprovalRequest, after, err error) {
	ctx := tx.ctx
	who := gatehouse.ActorFrom(ctx)
	r, err := findApproval(ctx, tx, id, tx.db.dialect.forUpdateOf("a"))
	if err != nil {
		return nil, nil, err
	}
	if !who.CanSee(r.Target()) {
		return nil, nil, gatehouse.NotFoundf("approval request %d not found", id)
	}
	if !r.State.Open() {
		return nil, nil, gatehouse.Errorf(gatehouse.KindPreconditionFailed, "approval request %d is %s", id, r.State)
	}
	if r.ExpiresAt != nil && !tx.now.Before(*r.ExpiresAt) {
		after = gatehouse.Errorf(gatehouse.KindPreconditionFailed, "approval request %d expired at %s", id, r.ExpiresAt.Format(time.RFC3339))
		return nil, after, tx.expire(r)
	}
	j, err := judge(ctx, tx, r)
	if err != nil {
		return nil, nil, err
	}
	if j.stale != "" {
		after = gatehouse.Errorf(gatehouse.KindPreconditionFailed, "approval request %d is stale: %s", id, j.stale)
		if err := tx.setApproval(r, gatehouse.ApprovalStale, j.stale, nil); err != nil {
			return nil, nil, err
		}
		return nil, after, tx.notify(gatehouse.EventApprovalStale, r.ApprovalRequest, []string{r.Requester})
	}
	if err := cast(tx, r, &j); err != nil {
		return nil, nil, err
	}
	r.Verdicts = j.verdicts
	return r.ApprovalRequest, nil, nil
}

// expire ends a request whose time ran out and tells its requester.
func (tx *Tx) expire(r approvalRow) error {
	if err := tx.setApproval(r, gatehouse.ApprovalExpired, "expired", nil); err != nil {
		return err
	}
	return tx.notify(gatehouse.EventApprovalExpired, r.ApprovalRequest, []string{r.Requester})
}

// mayVote checks the caller has not voted on the request yet and may vote on it (see
// eligibleVoter).
func mayVote(ctx context.Context, tx *Tx, r approvalRow, j judgement) (gatehouse.Voter, error) {
	who := gatehouse.ActorFrom(ctx)
	if slices.ContainsFunc(r.Votes, func(v gatehouse.Vote) bool { return v.Voter == who.UserName }) {
		return gatehouse.Voter{}, gatehouse.Conflictf("%s already voted on approval request %d", who.UserName, r.ID)
	}
	return eligibleVoter(ctx, tx, j.policies, j.facts, r.Target(), fmt.Sprintf("approval request %d", r.ID))
}

// eligibleVoter checks the caller is a person who signed in and who counts under at least
// one of the policies (all of one kind), and returns them as a voter; what names the thing
// voted on, for the message.
func eligibleVoter(ctx context.Context, q querier, policies []*gatehouse.Policy, facts gatehouse.ApprovalFacts, t gatehouse.Target, what string) (gatehouse.Voter, error) {
	who := gatehouse.ActorFrom(ctx)
	if who.Kind != gatehouse.HumanUser || !who.Interactive {
		return gatehouse.Voter{}, gatehouse.Forbiddenf("%s may not vote: approvals are cast by people who signed in (the web UI, `gatehouse login` or the e-mail link); API tokens and service accounts never approve", who.UserName)
	}
	if len(policies) == 0 {
		return gatehouse.Voter{}, gatehouse.Errorf(gatehouse.KindPreconditionFailed, "no policy gates %s any more", what)
	}
	voters, err := loadVoters(ctx, q, []string{who.UserName}, t, policies[0].Kind)
	if err != nil {
		return gatehouse.Voter{}, err
	}
	voter := voters[who.UserName]
	var why []string
	for _, p := range policies {
		ok, reason := p.MayCount(voter, facts)
		if ok {
			return voter, nil
		}
		if !slices.Contains(why, reason) {
			why = append(why, reason)
		}
	}
	return gatehouse.Voter{}, gatehouse.Forbiddenf("%s may not approve %s: %s", who.UserName, what, strings.Join(why, "; "))
}

func (tx *Tx) insertVote(r approvalRow, approve bool, comment string) error {
	who := gatehouse.ActorFrom(tx.ctx)
	_, err := tx.ExecContext(tx.ctx, `INSERT INTO approval_votes (approval_id, voter, approve, comment, via, at) VALUES ($1, $2, $3, $4, $5, $6)`,
		r.ID, who.UserName, approve, comment, who.Via, micro(tx.now))
	if isUniqueViolation(err) {
		return gatehouse.Conflictf("%s already voted on approval request %d", who.UserName, r.ID)
	} else if err != nil {
		return fmt.Errorf("insert vote: %w", err)
	}
	r.Votes = append(r.Votes, gatehouse.Vote{Voter: who.UserName, Approve: approve, Comment: comment, Via: who.Via, Time: tx.now})
	return tx.audit(change{action: "approval.vote", resource: fmt.Sprintf("approval/%d", r.ID), target: r.Target(),
		details: map[string]any{"approve": approve, "comment": comment, "digest": r.Digest, "via": who.Via}})
}

// Approve implements gatehouse.ApprovalService.
func (s *ApprovalService) Approve(ctx context.Context, id int64, d gatehouse.Decision) (*gatehouse.ApprovalRequest, error) {
	if _, err := actor(ctx); err != nil {
		return nil, err
	}
	return s.voteTx(ctx, request(id), approveCast(d))
}

// approveCast records an approval; meeting every policy approves the request, and on an auto
// stage starts its deployment.
func approveCast(d gatehouse.Decision) func(tx *Tx, r approvalRow, j *judgement) error {
	return func(tx *Tx, r approvalRow, j *judgement) error {
		voter, err := mayVote(tx.ctx, tx, r, *j)
		if err != nil {
			return err
		}
		if err := tx.insertVote(r, true, d.Comment); err != nil {
			return err
		}
		// Judge again with the new vote; everything else is as just read.
		j.voters[voter.Name] = voter
		j.verdicts = j.verdicts[:0]
		for _, p := range j.policies {
			j.verdicts = append(j.verdicts, p.Evaluate(j.facts, r.Approvers(), j.voters))
		}
		if r.State != gatehouse.ApprovalPending || !j.met() {
			return nil
		}
		if err := tx.setApproval(r, gatehouse.ApprovalApproved, "", nil); err != nil {
			return err
		}
		if err := tx.notify(gatehouse.EventApprovalApproved, r.ApprovalRequest, []string{r.Requester}); err != nil {
			return err
		}
		if err := tx.deployIfAuto(r); err != nil {
			return err
		}
		// An auto stage consumed the request just now: show that.
		var deployment sql.NullInt64
		if err := tx.QueryRowContext(tx.ctx, `SELECT state, deployment_id FROM approvals WHERE id = $1`, r.ID).Scan(&r.State, &deployment); err != nil {
			return fmt.Errorf("reread approval: %w", err)
		}
		r.Deployment = deployment.Int64
		return nil
	}
}

// Reject implements gatehouse.ApprovalService.
func (s *ApprovalService) Reject(ctx context.Context, id int64, d gatehouse.Decision) (*gatehouse.ApprovalRequest, error) {
	if _, err := actor(ctx); err != nil {
		return nil, err
	}
	if strings.TrimSpace(d.Comment) == "" {
		return nil, gatehouse.Invalidf("comment", "is required: a rejection says why")
	}
	return s.voteTx(ctx, request(id), rejectCast(d))
}

// rejectCast records a rejection, which ends the request.
func rejectCast(d gatehouse.Decision) func(tx *Tx, r approvalRow, j *judgement) error {
	return func(tx *Tx, r approvalRow, j *judgement) error {
		if _, err := mayVote(tx.ctx, tx, r, *j); err != nil {
			return err
		}
		if err := tx.insertVote(r, false, d.Comment); err != nil {
			return err
		}
		if err := tx.setApproval(r, gatehouse.ApprovalRejected, d.Comment, map[string]any{"by": gatehouse.ActorFrom(tx.ctx).UserName}); err != nil {
			return err
		}
		return tx.notify(gatehouse.EventApprovalRejected, r.ApprovalRequest, []string{r.Requester})
	}
}

// Cancel implements gatehouse.ApprovalService.
func (s *ApprovalService) Cancel(ctx context.Context, id int64) (*gatehouse.ApprovalRequest, error) {
	who, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	err = s.db.write(ctx, func(tx *Tx) error {
		r, err := findApproval(ctx, tx, id, tx.db.dialect.forUpdateOf("a"))
		if err != nil {
			return err
		}
		if !who.CanSee(r.Target()) {
			return gatehouse.NotFoundf("approval request %d not found", id)
		}
		if r.Requester != who.UserName {
			return gatehouse.Forbiddenf("%s may not cancel approval request %d: only its requester (%s) may", who.UserName, id, r.Requester)
		}
		if !r.State.Open() {
			return gatehouse.Errorf(gatehouse.KindPreconditionFailed, "approval request %d is %s", id, r.State)
		}
		if err := tx.setApproval(r, gatehouse.ApprovalCancelled, "cancelled by "+who.UserName, nil); err != nil {
			return err
		}
		return tx.notify(gatehouse.EventApprovalCancelled, r.ApprovalRequest, nil)
	})
	if err != nil {
		return nil, err
	}
	return s.Approval(ctx, id)
}
