package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// ApprovalService implements gatehouse.ApprovalService.
type ApprovalService struct{ db *DB }

// NewApprovalService returns the approval service of db.
func NewApprovalService(db *DB) *ApprovalService { return &ApprovalService{db: db} }

const approvalSelect = `SELECT a.id, p.name, ap.name, e.name, a.stage, a.image, a.digest, a.policies, a.requester, a.requester_person,
	a.comment, a.labels, a.notify, a.state, a.reason, a.deployment_id, a.created_at, a.expires_at, a.decided_at, a.app_id, a.environment_id
	FROM approvals a JOIN apps ap ON ap.id = a.app_id JOIN projects p ON p.id = ap.project_id JOIN environments e ON e.id = a.environment_id`

// approvalRow is a request with the ids the store needs. It is a ballot of the request flow.
type approvalRow struct {
	*gatehouse.ApprovalRequest
	appID, envID int64
}

func (r approvalRow) flow() gatehouse.BallotFlow   { return gatehouse.FlowRequest }
func (r approvalRow) id() int64                    { return r.ID }
func (r approvalRow) state() gatehouse.BallotState { return r.State }
func (r approvalRow) version() int64               { return 1 }
func (r approvalRow) votes() []gatehouse.Vote      { return r.Votes }
func (r approvalRow) target() gatehouse.Target     { return r.Target() }
func (r approvalRow) addVote(v gatehouse.Vote)     { r.Votes = append(r.Votes, v) }
func (r approvalRow) standing(tx *Tx) (gatehouse.Standing, error) {
	return requestStanding(tx.ctx, tx, r, nil)
}

func (r approvalRow) setState(to gatehouse.BallotState, reason string, decided *time.Time) {
	r.State, r.Reason, r.DecidedAt = to, reason, decided
}

// approved tells the requester, and on an auto stage starts the deployment at once.
func (r approvalRow) approved(tx *Tx) error {
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

// rejected ends the request.
func (r approvalRow) rejected(tx *Tx, d gatehouse.Decision) error {
	if err := tx.moveBallot(r, gatehouse.ApprovalRejected, d.Comment, map[string]any{"by": gatehouse.ActorFrom(tx.ctx).UserName, "digest": r.Digest}); err != nil {
		return err
	}
	return tx.notify(gatehouse.EventApprovalRejected, r.ApprovalRequest, []string{r.Requester})
}

func scanApproval(row scanner) (approvalRow, error) {
	r := approvalRow{ApprovalRequest: &gatehouse.ApprovalRequest{}}
	a := r.ApprovalRequest
	var policies, labels, notify string
	var deployment, expires, decided sql.NullInt64
	var created int64
	if err := row.Scan(&a.ID, &a.Project, &a.App, &a.Environment, &a.Stage, &a.Image, &a.Digest, &policies, &a.Requester, &a.RequesterPerson,
		&a.Comment, &labels, &notify, &a.State, &a.Reason, &deployment, &created, &expires, &decided, &r.appID, &r.envID); err != nil {
		return r, err
	}
	for _, j := range []struct {
		src string
		dst any
	}{{policies, &a.Policies}, {labels, &a.Labels}, {notify, &a.Notify}} {
		if err := json.Unmarshal([]byte(j.src), j.dst); err != nil {
			return r, fmt.Errorf("approval %d: %w", a.ID, err)
		}
	}
	a.Deployment = deployment.Int64
	a.CreatedAt, a.ExpiresAt, a.DecidedAt = fromMicro(created), fromNullMicro(expires), fromNullMicro(decided)
	a.Votes = []gatehouse.Vote{}
	return r, nil
}

// findApproval reads a request with its votes; lock locks it on PostgreSQL.
func findApproval(ctx context.Context, q querier, id int64, lock string) (approvalRow, error) {
	r, err := scanApproval(q.QueryRowContext(ctx, approvalSelect+` WHERE a.id = $1`+lock, id))
	if err != nil {
		return r, notFoundOr(err, "approval request %d not found", id)
	}
	return withVotes(ctx, q, r)
}

// withVotes adds the request's votes, in the order they were cast.
func withVotes(ctx context.Context, q querier, r approvalRow) (approvalRow, error) {
	votes, err := votesOf(ctx, q, gatehouse.FlowRequest, r.ID, 1)
	if err != nil {
		return r, err
	}
	r.Votes = votes
	return r, nil
}

// requestStanding is who judges a request now: every image policy that reaches its stage,
// counting image approvers of the stage; the facts are people (the requester, whoever pushed
// or built the image, its commit author). A request whose policies changed since it was
// raised is stale. all holds every policy when the caller read them already (nil: read now).
func requestStanding(ctx context.Context, q querier, r approvalRow, all []*gatehouse.Policy) (gatehouse.Standing, error) {
	if all == nil {
		var err error
		if all, err = allPolicies(ctx, q); err != nil {
			return gatehouse.Standing{}, err
		}
	}
	arts, err := requestArtifacts(ctx, q, []approvalRow{r})
	if err != nil {
		return gatehouse.Standing{}, err
	}
	return r.standingUnder(all, arts[r.ID]), nil
}

// standingUnder is the request's standing under the policies, its artifact made by art.
func (r approvalRow) standingUnder(all []*gatehouse.Policy, art artifactPeople) gatehouse.Standing {
	var st gatehouse.Standing
	for _, p := range reaching(all, r.Target(), gatehouse.PolicyImage) {
		st.Judges = append(st.Judges, gatehouse.Judge{Policy: p, Target: r.Target()})
	}
	st.Facts = gatehouse.ApprovalFacts{Requester: r.RequesterPerson, Builders: people(art.pusher, art.builder), CommitAuthor: art.author}
	if current := refs(st.Policies()); !slices.Equal(current, r.Policies) {
		st.Stale = fmt.Sprintf("the policies gating %s changed (judged by %s, now %s): request approval again", r.Environment, refText(r.Policies), refText(current))
	}
	return st
}

// artifactPeople are who made a request's artifact.
type artifactPeople struct{ builder, author, pusher string }

// requestArtifacts reads who made the artifacts of the requests, in one query, by request.
func requestArtifacts(ctx context.Context, q querier, rs []approvalRow) (map[int64]artifactPeople, error) {
	out := map[int64]artifactPeople{}
	if len(rs) == 0 {
		return out, nil
	}
	ids := make([]any, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	err := eachRow(ctx, q, `SELECT a.id, art.builder, art.commit_author, art.pusher FROM approvals a
		JOIN artifacts art ON art.app_id = a.app_id AND art.digest = a.digest WHERE a.id IN (`+placeholders(1, len(ids))+`)`, ids, func(row scanner) error {
		var id int64
		var p artifactPeople
		if err := row.Scan(&id, &p.builder, &p.author, &p.pusher); err != nil {
			return err
		}
		out[id] = p
		return nil
	})
	if err == nil && len(out) < len(rs) {
		err = sql.ErrNoRows
	}
	if err != nil {
		return nil, fmt.Errorf("approval artifact: %w", err)
	}
	return out, nil
}

// people lists the non-empty names, each once.
func people(names ...string) []string {
	var out []string
	for _, n := range names {
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func refs(ps []*gatehouse.Policy) []gatehouse.PolicyRef {
	out := []gatehouse.PolicyRef{}
	for _, p := range ps {
		out = append(out, gatehouse.PolicyRef{Name: p.Name, Version: p.Version})
	}
	return out
}

func refText(rs []gatehouse.PolicyRef) string {
	if len(rs) == 0 {
		return "none"
	}
	s := ""
	for i, r := range rs {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s v%d", r.Name, r.Version)
	}
	return s
}

// setApproval moves a request to a state (see moveBallot), naming its digest in the trail.
func (tx *Tx) setApproval(r approvalRow, to gatehouse.ApprovalState, reason string, details map[string]any) error {
	if details == nil {
		details = map[string]any{}
	}
	details["digest"] = r.Digest
	return tx.moveBallot(r, to, reason, details)
}

// staleApprovals marks stale every open request that affected says is touched, and tells
// their requesters.
func (tx *Tx) staleApprovals(affected func(openRequest) bool, reason string) error {
	rows, err := queryAll(tx.ctx, tx, scanApproval, approvalSelect+` WHERE a.state IN ('pending', 'approved')`)
	if err != nil {
		return fmt.Errorf("open approvals: %w", err)
	}
	for _, r := range rows {
		if !affected(openRequest{id: r.ID, target: r.Target(), digest: r.Digest, policies: r.Policies}) {
			continue
		}
		if err := tx.setApproval(r, gatehouse.ApprovalStale, reason, nil); err != nil {
			return err
		}
		if err := tx.notify(gatehouse.EventApprovalStale, r.ApprovalRequest, []string{r.Requester}); err != nil {
			return err
		}
	}
	return nil
}

// notify queues an e-mail to each user and a message to each of the project's webhooks that
// wants the event.
func (tx *Tx) notify(event string, r *gatehouse.ApprovalRequest, users []string) error {
	return tx.deliver(r.Project, gatehouse.Notification{Event: event, ApprovalID: r.ID}, users)
}

// deliver queues n (an event about an approval request or a draft) as an e-mail to each user
// and as a message to each of the project's webhooks that wants the event ("" for a draft
// of no project, a global policy's: no webhook hears of it).
func (tx *Tx) deliver(project string, n gatehouse.Notification, users []string) error {
	q := tx.db.queue
	if q == nil {
		return nil
	}
	for _, u := range users {
		m := n
		m.User = u
		if err := q.EnqueueNotification(tx.ctx, tx.Tx, m); err != nil {
			return fmt.Errorf("queue notification: %w", err)
		}
	}
	if project == "" {
		return nil
	}
	type hook struct {
		id     int64
		events string
	}
	hooks, err := queryAll(tx.ctx, tx, func(row scanner) (hook, error) {
		var h hook
		return h, row.Scan(&h.id, &h.events)
	}, `SELECT w.id, w.events FROM webhooks w JOIN projects p ON p.id = w.project_id WHERE p.name = $1`, project)
	if err != nil {
		return fmt.Errorf("webhooks: %w", err)
	}
	for _, h := range hooks {
		var events []string
		if json.Unmarshal([]byte(h.events), &events) != nil || !slices.Contains(events, n.Event) {
			continue
		}
		m := n
		m.WebhookID = h.id
		if err := q.EnqueueNotification(tx.ctx, tx.Tx, m); err != nil {
			return fmt.Errorf("queue notification: %w", err)
		}
	}
	return nil
}
