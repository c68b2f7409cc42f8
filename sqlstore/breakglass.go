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

// breakGlass is a person's use of break-glass for one deployment: the reason, and what it
// passed over (filled in as the deployment meets them).
type breakGlass struct {
	reason      string
	person      string
	skipped     []*gatehouse.Policy // the image policies whose gate refused
	gateRefusal string
	windows     []string // the windows that were closed
}

// brokeGlass records a use of break-glass for the deployment just created: the trail, a
// review for the approvers of what it passed over (the policies whose gate refused; for
// windows alone, the image policies of the target), and word to them and to the project's
// webhooks at once.
func (tx *Tx) brokeGlass(d *gatehouse.Deployment, app *gatehouse.App, env *gatehouse.Environment, g breakGlass) error {
	judgedBy := g.skipped
	if len(judgedBy) == 0 {
		var err error
		if judgedBy, err = matchingPolicies(tx.ctx, tx, d.Target(), gatehouse.PolicyImage); err != nil {
			return err
		}
	}
	skipped := names(g.skipped)
	windows := append([]string{}, g.windows...)
	if err := tx.audit(change{action: "deployment.break_glass", resource: fmt.Sprintf("deployment/%d", d.ID), target: d.Target(),
		details: map[string]any{"reason": g.reason, "person": g.person, "skipped": skipped, "gate": g.gateRefusal, "windows": windows}}); err != nil {
		return err
	}
	if len(judgedBy) == 0 {
		return nil // nothing protects the target: nobody to review
	}
	var id int64
	if err := tx.QueryRowContext(tx.ctx, `INSERT INTO reviews (deployment_id, app_id, environment_id, by_person, why, skipped, judged_by, windows,
		state, due_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9, $10) RETURNING id`,
		d.ID, app.ID, env.ID, g.person, g.reason, jsonText(skipped), jsonText(names(judgedBy)), jsonText(windows),
		micro(gatehouse.ReviewDue(tx.now, judgedBy)), micro(tx.now)).Scan(&id); err != nil {
		return fmt.Errorf("insert review: %w", err)
	}
	if err := tx.addEvent(d.ID, "queued", fmt.Sprintf("break-glass by %s: %s (review %d)", g.person, g.reason, id)); err != nil {
		return err
	}
	return tx.tellReviewers(id, gatehouse.EventBreakGlassUsed)
}

func names(ps []*gatehouse.Policy) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

// tellReviewers sends the event about the review to everyone who may acknowledge it, and to
// the project's webhooks that want it.
func (tx *Tx) tellReviewers(id int64, event string) error {
	r, err := findReview(tx.ctx, tx, id, "")
	if err != nil {
		return err
	}
	st, err := r.standing(tx)
	if err != nil {
		return err
	}
	// The person who broke the glass is the review's requester: eligible leaves them out.
	people, err := eligible(tx.ctx, tx, st)
	if err != nil {
		return err
	}
	return tx.deliver(r.Project, gatehouse.Notification{Event: event, ReviewID: id}, people)
}

// reviewRow is a review as the ballot flow sees it.
type reviewRow struct {
	*gatehouse.Review
	judgedBy []string
}

func (r reviewRow) flow() gatehouse.BallotFlow   { return gatehouse.FlowReview }
func (r reviewRow) id() int64                    { return r.ID }
func (r reviewRow) state() gatehouse.BallotState { return r.State }
func (r reviewRow) version() int64               { return 1 }
func (r reviewRow) votes() []gatehouse.Vote      { return r.Votes }
func (r reviewRow) addVote(v gatehouse.Vote)     { r.Votes = append(r.Votes, v) }
func (r reviewRow) target() gatehouse.Target {
	return gatehouse.Target{Project: r.Project, App: r.App, Env: r.Environment}
}
func (r reviewRow) setState(to gatehouse.BallotState, _ string, decided *time.Time) {
	r.State, r.DecidedAt = to, decided
}

// standing: each policy it is judged by, as it is now, asking ReviewCount of its approvers
// where it counts them; the person who broke the glass never acknowledges their own use.
func (r reviewRow) standing(tx *Tx) (gatehouse.Standing, error) { return r.standingIn(tx.ctx, tx) }

func (r reviewRow) standingIn(ctx context.Context, q querier) (gatehouse.Standing, error) {
	all, err := allPolicies(ctx, q)
	if err != nil {
		return gatehouse.Standing{}, err
	}
	st := gatehouse.Standing{Facts: gatehouse.ApprovalFacts{Requester: r.By}}
	for _, p := range all {
		if slices.Contains(r.judgedBy, p.Name) {
			st.Judges = append(st.Judges, gatehouse.Judge{Policy: gatehouse.ReviewPolicy(p), Target: judgeTarget(r.target(), p)})
		}
	}
	return st, nil
}

func (r reviewRow) approved(*Tx) error { return nil }

func (r reviewRow) rejected(*Tx, gatehouse.Decision) error {
	return gatehouse.Invalidf("approve", "a break-glass review is acknowledged, with a comment: it is not rejected")
}

const reviewSelect = `SELECT r.id, r.deployment_id, p.name, a.name, e.name, r.by_person, r.why, r.skipped, r.judged_by, r.windows, r.state,
	r.due_at, r.created_at, r.decided_at
	FROM reviews r JOIN apps a ON a.id = r.app_id JOIN projects p ON p.id = a.project_id JOIN environments e ON e.id = r.environment_id`

func scanReview(row scanner) (reviewRow, error) {
	r := reviewRow{Review: &gatehouse.Review{}}
	v := r.Review
	var skipped, judged, windows string
	var due, created int64
	var decided sql.NullInt64
	if err := row.Scan(&v.ID, &v.Deployment, &v.Project, &v.App, &v.Environment, &v.By, &v.Reason, &skipped, &judged, &windows, &v.State,
		&due, &created, &decided); err != nil {
		return r, err
	}
	for _, f := range []struct {
		text string
		dst  *[]string
	}{{skipped, &v.Skipped}, {judged, &r.judgedBy}, {windows, &v.Windows}} {
		if err := json.Unmarshal([]byte(f.text), f.dst); err != nil {
			return r, fmt.Errorf("review %d: %w", v.ID, err)
		}
	}
	v.DueAt, v.CreatedAt, v.DecidedAt = fromMicro(due), fromMicro(created), fromNullMicro(decided)
	return r, nil
}

// findReview reads a review with its acknowledgements; lock locks it on PostgreSQL.
func findReview(ctx context.Context, q querier, id int64, lock string) (reviewRow, error) {
	r, err := scanReview(q.QueryRowContext(ctx, reviewSelect+` WHERE r.id = $1`+lock, id))
	if err != nil {
		return r, notFoundOr(err, "review %d not found", id)
	}
	r.Votes, err = votesOf(ctx, q, gatehouse.FlowReview, id, 1)
	return r, err
}

// ReviewService implements gatehouse.ReviewService.
type ReviewService struct{ db *DB }

// NewReviewService returns the review service of db.
func NewReviewService(db *DB) *ReviewService { return &ReviewService{db: db} }

// view fills in what people see of a review: its verdicts now, and whether it is overdue.
func (db *DB) viewReview(ctx context.Context, q querier, r reviewRow) (*gatehouse.Review, error) {
	st, err := r.standingIn(ctx, q)
	if err != nil {
		return nil, err
	}
	j, err := judge(ctx, q, st, r.Votes)
	if err != nil {
		return nil, err
	}
	out := *r.Review
	out.Verdicts = j.verdicts
	out.Overdue = out.State == gatehouse.ReviewOpen && !db.now().Before(out.DueAt)
	return &out, nil
}

// visibleReview reads a review the caller may see.
func (db *DB) visibleReview(ctx context.Context, q querier, id int64, lock string) (reviewRow, error) {
	who, err := actor(ctx)
	if err != nil {
		return reviewRow{}, err
	}
	r, err := findReview(ctx, q, id, lock)
	if err != nil {
		return r, err
	}
	if !who.CanSee(r.target()) {
		return r, gatehouse.NotFoundf("review %d not found", id)
	}
	return r, nil
}

// Review implements gatehouse.ReviewService.
func (s *ReviewService) Review(ctx context.Context, id int64) (*gatehouse.Review, error) {
	r, err := s.db.visibleReview(ctx, s.db.r, id, "")
	if err != nil {
		return nil, err
	}
	return s.db.viewReview(ctx, s.db.r, r)
}

// Reviews implements gatehouse.ReviewService.
func (s *ReviewService) Reviews(ctx context.Context, f gatehouse.ReviewFilter) ([]*gatehouse.Review, error) {
	who, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	switch f.State {
	case "", gatehouse.ReviewOpen, gatehouse.ReviewAcknowledged:
	default:
		return nil, gatehouse.Invalidf("state", "%q is not a review state: expected open or acknowledged", f.State)
	}
	if f.Limit < 0 || f.Limit > 500 {
		return nil, gatehouse.Invalidf("limit", "is %d: expected 1 to 500", f.Limit)
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	var args sqlArgs
	query := reviewSelect + ` WHERE ` + seesSQL(who.Grants, &args, at("p.name", "a.name", "e.name"))
	if f.Project != "" {
		query += ` AND p.name = ` + args.add(f.Project)
	}
	if f.State != "" {
		query += ` AND r.state = ` + args.add(f.State)
	}
	if f.Overdue {
		query += ` AND r.state = 'open' AND r.due_at <= ` + args.add(micro(s.db.now()))
	}
	query += ` ORDER BY r.id DESC LIMIT ` + args.add(f.Limit)
	rows, err := queryAll(ctx, s.db.r, scanReview, query, args...)
	if err != nil {
		return nil, fmt.Errorf("reviews: %w", err)
	}
	out := []*gatehouse.Review{}
	for _, r := range rows {
		if r.Votes, err = votesOf(ctx, s.db.r, gatehouse.FlowReview, r.ID, 1); err != nil {
			return nil, err
		}
		v, err := s.db.viewReview(ctx, s.db.r, r)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// AcknowledgeReview implements gatehouse.ReviewService.
func (s *ReviewService) AcknowledgeReview(ctx context.Context, id int64, d gatehouse.Decision) (*gatehouse.Review, error) {
	if len([]rune(strings.TrimSpace(d.Comment))) < 5 {
		return nil, gatehouse.Invalidf("comment", "is required: say what you checked of the emergency (at least 5 characters)")
	}
	err := s.db.write(ctx, func(tx *Tx) error {
		r, err := s.db.visibleReview(ctx, tx, id, tx.db.dialect.forUpdateOf("r"))
		if err != nil {
			return err
		}
		st, err := r.standing(tx)
		if err != nil {
			return err
		}
		_, err = tx.castVote(r, st, true, gatehouse.Decision{Comment: d.Comment})
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.Review(ctx, id)
}

// RemindOverdueReviews tells the reviewers of each open review past due, once, that it is
// overdue; it returns how many it told of.
func (db *DB) RemindOverdueReviews(ctxIn context.Context) (int, error) {
	ctx := gatehouse.WithActor(ctxIn, gatehouse.SystemActor())
	n := 0
	err := db.write(ctx, func(tx *Tx) error {
		ids, err := queryAll(ctx, tx, func(r scanner) (int64, error) {
			var id int64
			return id, r.Scan(&id)
		}, `SELECT id FROM reviews WHERE state = 'open' AND due_at <= $1 AND reminded_at IS NULL ORDER BY id LIMIT 100`, micro(tx.now))
		if err != nil {
			return fmt.Errorf("overdue reviews: %w", err)
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE reviews SET reminded_at = $1 WHERE id = $2`, micro(tx.now), id); err != nil {
				return fmt.Errorf("remind review: %w", err)
			}
			if err := tx.tellReviewers(id, gatehouse.EventBreakGlassOverdue); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
