package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/gatehousehq/gatehouse"
)

const draftSelect = `SELECT d.id, p.name, ap.name, COALESCE(e.name, ''), d.kind, d.state, d.version, d.base_hash, d.author, d.notify,
	d.reason, d.published_revision, d.created_at, d.updated_at, d.decided_at, d.app_id, COALESCE(d.environment_id, 0)
	FROM config_drafts d JOIN apps ap ON ap.id = d.app_id JOIN projects p ON p.id = ap.project_id
	LEFT JOIN environments e ON e.id = d.environment_id`

// draftRow is a draft with what the store needs of it.
type draftRow struct {
	*gatehouse.ConfigDraft
	appID, envID int64
	baseHash     string
}

func scanDraft(row scanner) (draftRow, error) {
	r := draftRow{ConfigDraft: &gatehouse.ConfigDraft{}}
	d := r.ConfigDraft
	var notify string
	var published, decided sql.NullInt64
	var created, updated int64
	if err := row.Scan(&d.ID, &d.Project, &d.App, &d.Environment, &d.Kind, &d.State, &d.Version, &r.baseHash, &d.Author, &notify,
		&d.Reason, &published, &created, &updated, &decided, &r.appID, &r.envID); err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(notify), &d.Notify); err != nil {
		return r, fmt.Errorf("draft %d: %w", d.ID, err)
	}
	d.PublishedRevision = published.Int64
	d.CreatedAt, d.UpdatedAt, d.DecidedAt = fromMicro(created), fromMicro(updated), fromNullMicro(decided)
	return r, nil
}

// findDraft reads a draft with its versions, comments and the votes on its latest version;
// lock locks it on PostgreSQL.
func findDraft(ctx context.Context, q querier, id int64, lock string) (draftRow, error) {
	r, err := scanDraft(q.QueryRowContext(ctx, draftSelect+` WHERE d.id = $1`+lock, id))
	if err != nil {
		return r, notFoundOr(err, "config draft %d not found", id)
	}
	d := r.ConfigDraft
	if d.Versions, err = queryAll(ctx, q, func(row scanner) (gatehouse.DraftVersion, error) {
		var v gatehouse.DraftVersion
		var at int64
		err := row.Scan(&v.Version, &v.Author, &v.Comment, &at)
		v.Time = fromMicro(at)
		return v, err
	}, `SELECT version, author, comment, at FROM config_draft_versions WHERE draft_id = $1 ORDER BY version`, id); err != nil {
		return r, fmt.Errorf("draft versions: %w", err)
	}
	d.Authors = []string{}
	for _, v := range d.Versions {
		if !slices.Contains(d.Authors, v.Author) {
			d.Authors = append(d.Authors, v.Author)
		}
	}
	if d.Comments, err = queryAll(ctx, q, func(row scanner) (gatehouse.DraftComment, error) {
		var c gatehouse.DraftComment
		var at int64
		err := row.Scan(&c.Author, &c.Text, &at)
		c.Time = fromMicro(at)
		return c, err
	}, `SELECT author, body, at FROM config_draft_comments WHERE draft_id = $1 ORDER BY id`, id); err != nil {
		return r, fmt.Errorf("draft comments: %w", err)
	}
	if d.Votes, err = queryAll(ctx, q, scanVote, `SELECT voter, approve, comment, via, at FROM config_draft_votes
		WHERE draft_id = $1 AND version = $2 ORDER BY at, voter`, id, d.Version); err != nil {
		return r, fmt.Errorf("draft votes: %w", err)
	}
	return r, nil
}

func draftAAD(id, version int64) string { return fmt.Sprintf("draft:%d:%d", id, version) }

// draftBody returns a version's content as plain text.
func (db *DB) draftBody(ctx context.Context, q querier, r draftRow, version int64) (string, error) {
	var body string
	if err := q.QueryRowContext(ctx, `SELECT body FROM config_draft_versions WHERE draft_id = $1 AND version = $2`, r.ID, version).Scan(&body); err != nil {
		return "", fmt.Errorf("draft %d version %d: %w", r.ID, version, err)
	}
	if r.Kind != gatehouse.ConfigSecrets {
		return body, nil
	}
	pt, err := db.secrets.Open(body, draftAAD(r.ID, version))
	if err != nil {
		return "", fmt.Errorf("unseal draft %d version %d: %w", r.ID, version, err)
	}
	return string(pt), nil
}

// draftLive resolves the resource a draft changes, as the system (the caller's rights were
// checked on the draft).
func draftLive(ctx context.Context, q querier, r draftRow) (liveRef, error) {
	l := liveRef{ref: r.ConfigRef}
	var err error
	if l.app, err = findApp(ctx, q, r.Project, r.App); err != nil {
		return l, err
	}
	if r.Environment != "" {
		if l.env, err = findEnvironment(ctx, q, r.Project, r.Environment); err != nil {
			return l, err
		}
	}
	return l, nil
}

// draftJudgement is a draft's current standing: its change against the live resource and the
// verdicts of the policies that protect it now.
type draftJudgement struct {
	live     liveRef
	body     string // latest version, plain
	current  string // live content, plain
	change   *gatehouse.ConfigChange
	policies []*gatehouse.Policy // as they apply to this change (risk rules added)
	facts    gatehouse.ApprovalFacts
	verdicts []gatehouse.Verdict
}

func (j draftJudgement) met() bool         { return gatehouse.GateOpen(j.verdicts) }
func (j draftJudgement) missing() []string { return gatehouse.GateMissing(j.verdicts) }

// judgeDraft evaluates the votes on a draft's latest version now: current policies with
// their risk rules applied to the change, current eligibility, and its authors barred.
func (db *DB) judgeDraft(ctx context.Context, q querier, r draftRow) (draftJudgement, error) {
	var j draftJudgement
	var err error
	if j.live, err = draftLive(ctx, q, r); err != nil {
		return j, err
	}
	if j.body, err = db.draftBody(ctx, q, r, r.Version); err != nil {
		return j, err
	}
	if j.current, err = db.readLive(ctx, q, j.live); err != nil {
		return j, err
	}
	if j.change, err = configChange(r.Kind, "live", fmt.Sprintf("draft %d v%d", r.ID, r.Version), j.current, j.body); err != nil {
		return j, err
	}
	policies, err := configPolicies(ctx, q, j.live)
	if err != nil {
		return j, err
	}
	for _, p := range policies {
		j.policies = append(j.policies, p.ForChange(r.Kind, j.change.Labels, j.change.Changes))
	}
	j.facts = gatehouse.ApprovalFacts{Authors: r.Authors}
	var names []string
	for _, v := range r.Votes {
		names = append(names, v.Voter)
	}
	voters, err := loadVoters(ctx, q, names, r.ConfigRef.Target(), gatehouse.PolicyConfig)
	if err != nil {
		return j, err
	}
	j.verdicts = []gatehouse.Verdict{}
	for _, p := range j.policies {
		j.verdicts = append(j.verdicts, p.Evaluate(j.facts, r.Approvers(), voters))
	}
	return j, nil
}

// draftView fills in what people see of a draft: the latest content (secrets masked), the
// change, the policies and their verdicts.
func (r draftRow) view(j draftJudgement) *gatehouse.ConfigDraft {
	d := r.ConfigDraft
	d.Content = viewContent(r.Kind, j.body)
	d.Change, d.Verdicts = j.change, j.verdicts
	d.Policies = refs(j.policies)
	return d
}

// ConfigDraft implements gatehouse.ConfigService.
func (s *ConfigService) ConfigDraft(ctx context.Context, id int64) (*gatehouse.ConfigDraft, error) {
	who, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	r, err := findDraft(ctx, s.db.r, id, "")
	if err != nil {
		return nil, err
	}
	if !who.CanSee(r.ConfigRef.Target()) {
		return nil, gatehouse.NotFoundf("config draft %d not found", id)
	}
	j, err := s.db.judgeDraft(ctx, s.db.r, r)
	if err != nil {
		return nil, err
	}
	return r.view(j), nil
}

// ConfigDrafts implements gatehouse.ConfigService.
func (s *ConfigService) ConfigDrafts(ctx context.Context, f gatehouse.DraftFilter) ([]*gatehouse.ConfigDraft, error) {
	who, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	q, args, err := filterOf(f.Project, f.App, f.Environment, f.State, gatehouse.DraftStates, f.ForMe, f.Limit).
		query(draftSelect, "d", `'proposed', 'approved'`)
	if err != nil {
		return nil, err
	}
	rows, err := queryAll(ctx, s.db.r, scanDraft, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list drafts: %w", err)
	}
	out := []*gatehouse.ConfigDraft{}
	for _, row := range rows {
		if !who.CanSee(row.ConfigRef.Target()) {
			continue
		}
		r, err := findDraft(ctx, s.db.r, row.ID, "")
		if err != nil {
			return nil, err
		}
		j, err := s.db.judgeDraft(ctx, s.db.r, r)
		if err != nil {
			return nil, err
		}
		if f.ForMe && !canVoteDraft(ctx, s.db.r, r, j) {
			continue
		}
		out = append(out, r.view(j))
	}
	return out, nil
}

// canVoteDraft reports whether the caller could vote on the draft's latest version now.
func canVoteDraft(ctx context.Context, q querier, r draftRow, j draftJudgement) bool {
	who := gatehouse.ActorFrom(ctx)
	if slices.ContainsFunc(r.Votes, func(v gatehouse.Vote) bool { return v.Voter == who.UserName }) {
		return false
	}
	_, err := eligibleVoter(ctx, q, j.policies, j.facts, r.ConfigRef.Target(), "")
	return err == nil
}
