package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
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
		stage := p.StageFor(in.Environment)
		if stage == nil {
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
			return gatehouse.Errorf(gatehouse.KindPreconditionFailed, "stage %s of app %s is not gated by any policy: deploy it directly", stage.Name, app)
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
		st := gatehouse.Standing{Facts: gatehouse.ApprovalFacts{Requester: who.Person, Builders: people(art.Pusher, art.Builder), CommitAuthor: art.CommitAuthor}}
		for _, p := range policies {
			st.Judges = append(st.Judges, gatehouse.Judge{Policy: p, Target: t})
		}
		notify, err := tx.recipients(in.Notify, st)
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
			requester_person, comment, labels, notify, state, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending', $13, $14) RETURNING id`,
			a.ID, e.ID, stage.Name, art.ID, art.Reference(), art.Digest, string(pj), who.UserName, who.Person, in.Comment, string(lj), string(nj),
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
			after: map[string]any{"state": r.State, "digest": r.Digest, "image": r.Image, "policies": r.Policies, "notify": notify, "labels": labels,
				"requester_person": who.Person},
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
	st, err := requestStanding(ctx, s.db.r, r, nil)
	if err != nil {
		return nil, err
	}
	j, err := judge(ctx, s.db.r, st, r.Votes)
	if err != nil {
		return nil, err
	}
	r.Verdicts = j.verdicts
	return r.ApprovalRequest, nil
}

// voteTx runs a vote in a transaction of its own (see voteIn) on the request locate names in
// that transaction, and returns the request as the vote left it.
func (s *ApprovalService) voteTx(ctx context.Context, locate func(tx *Tx) (int64, error), approve bool, d gatehouse.Decision) (*gatehouse.ApprovalRequest, error) {
	var after error
	var out *gatehouse.ApprovalRequest
	err := s.db.write(ctx, func(tx *Tx) error {
		id, err := locate(tx)
		if err != nil {
			return err
		}
		out, after, err = voteIn(tx, id, approve, d)
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

// voteIn locks the request and, when it can still be voted on, casts the caller's vote. A
// request that expired or went stale is ended instead; that change must commit, so why the
// vote did not happen comes back as after, not as err.
func voteIn(tx *Tx, id int64, approve bool, d gatehouse.Decision) (out *gatehouse.ApprovalRequest, after, err error) {
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
	st, err := r.standing(tx)
	if err != nil {
		return nil, nil, err
	}
	if st.Stale != "" {
		after = gatehouse.Errorf(gatehouse.KindPreconditionFailed, "approval request %d is stale: %s", id, st.Stale)
		if err := tx.setApproval(r, gatehouse.ApprovalStale, st.Stale, nil); err != nil {
			return nil, nil, err
		}
		return nil, after, tx.notify(gatehouse.EventApprovalStale, r.ApprovalRequest, []string{r.Requester})
	}
	if r.Verdicts, err = tx.castVote(r, st, approve, d); err != nil {
		return nil, nil, err
	}
	return r.ApprovalRequest, nil, nil
}

// expire ends a request whose time ran out and tells its requester.
func (tx *Tx) expire(r approvalRow) error {
	if err := tx.setApproval(r, gatehouse.ApprovalExpired, "expired", nil); err != nil {
		return err
	}
	return tx.notify(gatehouse.EventApprovalExpired, r.ApprovalRequest, []string{r.Requester})
}

// Approve implements gatehouse.ApprovalService.
func (s *ApprovalService) Approve(ctx context.Context, id int64, d gatehouse.Decision) (*gatehouse.ApprovalRequest, error) {
	if _, err := actor(ctx); err != nil {
		return nil, err
	}
	return s.voteTx(ctx, request(id), true, d)
}

// Reject implements gatehouse.ApprovalService.
func (s *ApprovalService) Reject(ctx context.Context, id int64, d gatehouse.Decision) (*gatehouse.ApprovalRequest, error) {
	if _, err := actor(ctx); err != nil {
		return nil, err
	}
	if strings.TrimSpace(d.Comment) == "" {
		return nil, gatehouse.Invalidf("comment", "is required: a rejection says why")
	}
	return s.voteTx(ctx, request(id), false, d)
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
