package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

// ApprovalService implements gatehouse.ApprovalService.
type ApprovalService struct{ db *DB }

// NewApprovalService returns the approval service of db.
func NewApprovalService(db *DB) *ApprovalService { return &ApprovalService{db: db} }

const approvalSelect = `SELECT a.id, p.name, ap.name, e.name, a.stage, a.image, a.digest, a.policies, a.requester, a.comment,
	a.labels, a.notify, a.state, a.reason, a.deployment_id, a.created_at, a.expires_at, a.decided_at, a.app_id, a.environment_id
	FROM approvals a JOIN apps ap ON ap.id = a.app_id JOIN projects p ON p.id = ap.project_id JOIN environments e ON e.id = a.environment_id`

// approvalRow is a request with the ids the store needs.
type approvalRow struct {
	*gatehouse.ApprovalRequest
	appID, envID int64
}

func scanApproval(row scanner) (approvalRow, error) {
	r := approvalRow{ApprovalRequest: &gatehouse.ApprovalRequest{}}
	a := r.ApprovalRequest
	var policies, labels, notify string
	var deployment, expires, decided sql.NullInt64
	var created int64
	if err := row.Scan(&a.ID, &a.Project, &a.App, &a.Environment, &a.Stage, &a.Image, &a.Digest, &policies, &a.Requester,
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

func scanVote(row scanner) (gatehouse.Vote, error) {
	var v gatehouse.Vote
	var at int64
	err := row.Scan(&v.Voter, &v.Approve, &v.Comment, &v.Via, &at)
	v.Time = fromMicro(at)
	return v, err
}

// findApproval reads a request with its votes; forUpdate locks it on PostgreSQL.
func findApproval(ctx context.Context, q querier, id int64, lock string) (approvalRow, error) {
	r, err := scanApproval(q.QueryRowContext(ctx, approvalSelect+` WHERE a.id = $1`+lock, id))
	if err != nil {
		return r, notFoundOr(err, "approval request %d not found", id)
	}
	return withVotes(ctx, q, r)
}

// withVotes adds the request's votes, in the order they were cast.
func withVotes(ctx context.Context, q querier, r approvalRow) (approvalRow, error) {
	votes, err := queryAll(ctx, q, scanVote, `SELECT voter, approve, comment, via, at FROM approval_votes WHERE approval_id = $1 ORDER BY at, voter`, r.ID)
	if err != nil {
		return r, fmt.Errorf("approval votes: %w", err)
	}
	r.Votes = append(r.Votes, votes...)
	return r, nil
}

// loadVoters reads what the rules need of each named person, as of now, in three queries
// whatever their number: eligible means a person, enabled, holding the approve action of the
// policy kind (approve-image, approve-config) on the target. Names of no user come back
// ineligible.
func loadVoters(ctx context.Context, q querier, names []string, t gatehouse.Target, kind gatehouse.PolicyKind) (map[string]gatehouse.Voter, error) {
	out := map[string]gatehouse.Voter{}
	if len(names) == 0 {
		return out, nil
	}
	type person struct {
		id       int64
		name     string
		email    string
		kind     gatehouse.UserKind
		disabled bool
		groups   []string
		groupIDs []int64
	}
	users, err := queryAll(ctx, q, func(r scanner) (*person, error) {
		var p person
		return &p, r.Scan(&p.id, &p.name, &p.email, &p.kind, &p.disabled)
	}, `SELECT id, name, email, kind, disabled FROM users WHERE name IN (`+placeholders(1, len(names))+`)`, anys(names)...)
	if err != nil {
		return nil, fmt.Errorf("voters: %w", err)
	}
	byID := map[int64]*person{}
	var ids []any
	for _, u := range users {
		byID[u.id] = u
		ids = append(ids, u.id)
	}
	byGroup := map[int64][]*person{}
	if len(ids) > 0 {
		type membership struct {
			user, group int64
			name        string
		}
		ms, err := queryAll(ctx, q, func(r scanner) (membership, error) {
			var m membership
			return m, r.Scan(&m.user, &m.group, &m.name)
		}, `SELECT m.user_id, g.id, g.name FROM group_members m JOIN user_groups g ON g.id = m.group_id
			WHERE m.user_id IN (`+placeholders(1, len(ids))+`) ORDER BY g.name`, ids...)
		if err != nil {
			return nil, fmt.Errorf("voter groups: %w", err)
		}
		for _, m := range ms {
			u := byID[m.user]
			u.groups, u.groupIDs = append(u.groups, m.name), append(u.groupIDs, m.group)
			byGroup[m.group] = append(byGroup[m.group], u)
		}
		type binding struct {
			grant   gatehouse.Grant
			kind    string
			subject int64
		}
		bs, err := queryAll(ctx, q, func(r scanner) (binding, error) {
			var b binding
			var scope string
			if err := r.Scan(&b.grant.Role, &scope, &b.kind, &b.subject); err != nil {
				return b, err
			}
			sc, err := gatehouse.ParseScope("scope", scope)
			b.grant.Scope = sc
			return b, err
		}, `SELECT role, scope, subject_kind, subject_id FROM role_bindings WHERE role = $1`, kind.ApproverRole())
		if err != nil {
			return nil, fmt.Errorf("voter roles: %w", err)
		}
		grants := map[*person][]gatehouse.Grant{}
		for _, b := range bs {
			switch {
			case b.kind == "user" && byID[b.subject] != nil:
				grants[byID[b.subject]] = append(grants[byID[b.subject]], b.grant)
			case b.kind == "group":
				for _, u := range byGroup[b.subject] {
					grants[u] = append(grants[u], b.grant)
				}
			}
		}
		for _, u := range users {
			out[u.name] = gatehouse.Voter{Name: u.name, Email: u.email, Groups: u.groups,
				Eligible: u.kind == gatehouse.HumanUser && !u.disabled && gatehouse.Can(grants[u], kind.ApproveAction(), t)}
		}
	}
	for _, n := range names {
		if _, ok := out[n]; !ok {
			out[n] = gatehouse.Voter{Name: n}
		}
	}
	return out, nil
}

// placeholders returns "$from, $from+1, …" for n parameters.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", from+i)
	}
	return b.String()
}

func anys[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// judgement is the current verdict on a request under the policies that gate its stage now.
type judgement struct {
	policies []*gatehouse.Policy
	verdicts []gatehouse.Verdict
	facts    gatehouse.ApprovalFacts
	voters   map[string]gatehouse.Voter
	stale    string // why the request no longer matches the policies, or ""
}

func (j judgement) met() bool         { return gatehouse.GateOpen(j.verdicts) }
func (j judgement) missing() []string { return gatehouse.GateMissing(j.verdicts) }

// judge evaluates a request's approvals now: current policies, current eligibility. A
// request whose policies changed since it was raised is stale.
func judge(ctx context.Context, q querier, r approvalRow) (judgement, error) {
	all, err := allPolicies(ctx, q)
	if err != nil {
		return judgement{}, err
	}
	return judgeAmong(ctx, q, r, all)
}

// judgeAmong is judge with every policy already read (all), so a list judges its requests
// with one read of the policies.
func judgeAmong(ctx context.Context, q querier, r approvalRow, all []*gatehouse.Policy) (judgement, error) {
	j := judgement{policies: reaching(all, r.Target(), gatehouse.PolicyImage)}
	var err error
	var art struct{ builder, author string }
	if err := q.QueryRowContext(ctx, `SELECT builder, commit_author FROM artifacts WHERE app_id = $1 AND digest = $2`, r.appID, r.Digest).
		Scan(&art.builder, &art.author); err != nil {
		return j, fmt.Errorf("approval artifact: %w", err)
	}
	j.facts = gatehouse.ApprovalFacts{Requester: r.Requester, Builder: art.builder, CommitAuthor: art.author}
	var names []string
	for _, v := range r.Votes {
		names = append(names, v.Voter)
	}
	if j.voters, err = loadVoters(ctx, q, names, r.Target(), gatehouse.PolicyImage); err != nil {
		return j, err
	}
	current := refs(j.policies)
	if !slices.Equal(current, r.Policies) {
		j.stale = fmt.Sprintf("the policies gating %s changed (judged by %s, now %s): request approval again", r.Environment, refText(r.Policies), refText(current))
	}
	for _, p := range j.policies {
		j.verdicts = append(j.verdicts, p.Evaluate(j.facts, r.Approvers(), j.voters))
	}
	return j, nil
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

// setApproval moves a request to a state, records the reason and the moment, and audits it.
func (tx *Tx) setApproval(r approvalRow, to gatehouse.ApprovalState, reason string, details map[string]any) error {
	from := r.State
	var decided sql.NullInt64
	if to != gatehouse.ApprovalPending {
		decided = sql.NullInt64{Int64: micro(tx.now), Valid: true}
	}
	if _, err := tx.ExecContext(tx.ctx, `UPDATE approvals SET state = $1, reason = $2, decided_at = $3 WHERE id = $4`,
		to, reason, decided, r.ID); err != nil {
		return fmt.Errorf("approval state: %w", err)
	}
	r.State, r.Reason = to, reason
	if decided.Valid {
		t := tx.now
		r.DecidedAt = &t
	}
	if details == nil {
		details = map[string]any{}
	}
	details["digest"], details["reason"] = r.Digest, reason
	return tx.audit(change{action: "approval." + string(to), resource: fmt.Sprintf("approval/%d", r.ID), target: r.Target(),
		before: map[string]any{"state": from}, after: map[string]any{"state": to}, details: details})
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
// and as a message to each of the project's webhooks that wants the event.
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
	hooks, err := queryAll(tx.ctx, tx, func(row scanner) (struct {
		id     int64
		events string
	}, error) {
		var h struct {
			id     int64
			events string
		}
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
