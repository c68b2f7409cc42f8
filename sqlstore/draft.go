package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// DraftService implements gatehouse.DraftService.
type DraftService struct{ db *DB }

// NewDraftService returns the draft service of db.
func NewDraftService(db *DB) *DraftService { return &DraftService{db: db} }

const draftSelect = `SELECT d.id, d.kind, COALESCE(p.name, ''), COALESCE(ap.name, ''), COALESCE(e.name, ''), d.policy, d.window_name, d.principal, d.scope, d.state, d.version,
	d.base_hash, d.author, d.notify, d.reason, d.published_revision, d.created_at, d.updated_at, d.decided_at
	FROM drafts d LEFT JOIN projects p ON p.id = d.project_id LEFT JOIN apps ap ON ap.id = d.app_id
	LEFT JOIN environments e ON e.id = d.environment_id`

// draftRow is a draft with what the store needs of it. It is a ballot of the draft flow.
type draftRow struct {
	*gatehouse.Draft
	baseHash string
	// scope decides who sees a policy or window draft (the policy's or window's scope when
	// the draft began) and an access draft (the project its latest version touches).
	scope string
	// judged holds the draft's standing once read in a transaction, for the flow's steps.
	judged *draftJudgement
}

func (r draftRow) flow() gatehouse.BallotFlow   { return gatehouse.FlowDraft }
func (r draftRow) id() int64                    { return r.ID }
func (r draftRow) state() gatehouse.BallotState { return r.State }
func (r draftRow) version() int64               { return r.Version }
func (r draftRow) votes() []gatehouse.Vote      { return r.Votes }
func (r draftRow) target() gatehouse.Target     { return r.DraftRef.Target() }
func (r draftRow) addVote(v gatehouse.Vote)     { r.Votes = append(r.Votes, v) }

func (r draftRow) setState(to gatehouse.BallotState, reason string, decided *time.Time) {
	r.State, r.Reason, r.DecidedAt = to, reason, decided
}

func (r draftRow) standing(tx *Tx) (gatehouse.Standing, error) {
	j, err := tx.db.draftStanding(tx.ctx, tx, r)
	if err != nil {
		return gatehouse.Standing{}, err
	}
	return j.Standing, nil
}

// approved tells the draft's authors.
func (r draftRow) approved(tx *Tx) error {
	return tx.deliver(r.Project, gatehouse.Notification{Event: gatehouse.EventDraftApproved, DraftID: r.ID}, r.Authors)
}

// rejected sends the draft back to its authors with the reason.
func (r draftRow) rejected(tx *Tx, d gatehouse.Decision) error {
	if err := tx.moveBallot(r, gatehouse.DraftOpen, d.Comment, map[string]any{"rejected_by": gatehouse.ActorFrom(tx.ctx).UserName}); err != nil {
		return err
	}
	return tx.deliver(r.Project, gatehouse.Notification{Event: gatehouse.EventDraftRejected, DraftID: r.ID}, r.Authors)
}

func scanDraft(row scanner) (draftRow, error) {
	r := draftRow{Draft: &gatehouse.Draft{}}
	d := r.Draft
	var notify, principal string
	var published, decided sql.NullInt64
	var created, updated int64
	if err := row.Scan(&d.ID, &d.Kind, &d.Project, &d.App, &d.Environment, &d.Policy, &d.Window, &principal, &r.scope, &d.State, &d.Version, &r.baseHash, &d.Author,
		&notify, &d.Reason, &published, &created, &updated, &decided); err != nil {
		return r, err
	}
	switch kind, name, _ := strings.Cut(principal, "/"); kind {
	case "user":
		d.User = name
	case "group":
		d.Group = name
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
		return r, notFoundOr(err, "draft %d not found", id)
	}
	return r, fillDrafts(ctx, q, []draftRow{r})
}

// fillDrafts reads the versions, comments and votes on the latest version of drafts, in three
// queries whatever their number.
func fillDrafts(ctx context.Context, q querier, rs []draftRow) error {
	if len(rs) == 0 {
		return nil
	}
	byID, ids, versions := map[int64]*gatehouse.Draft{}, []any{}, map[int64]int64{}
	for _, r := range rs {
		d := r.Draft
		d.Versions, d.Authors, d.Comments = nil, []string{}, []gatehouse.DraftComment{}
		byID[d.ID], versions[d.ID] = d, d.Version
		ids = append(ids, d.ID)
	}
	in := placeholders(1, len(ids))
	if err := eachRow(ctx, q, `SELECT draft_id, version, author, person, comment, at FROM draft_versions WHERE draft_id IN (`+in+`)
		ORDER BY draft_id, version`, ids, func(row scanner) error {
		var id, at int64
		var v gatehouse.DraftVersion
		if err := row.Scan(&id, &v.Version, &v.Author, &v.Person, &v.Comment, &at); err != nil {
			return err
		}
		v.Time = fromMicro(at)
		d := byID[id]
		d.Versions = append(d.Versions, v)
		if who := cmpOr(v.Person, v.Author); !slices.Contains(d.Authors, who) {
			d.Authors = append(d.Authors, who)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("draft versions: %w", err)
	}
	if err := eachRow(ctx, q, `SELECT draft_id, author, body, at FROM draft_comments WHERE draft_id IN (`+in+`) ORDER BY id`, ids, func(row scanner) error {
		var id, at int64
		var c gatehouse.DraftComment
		if err := row.Scan(&id, &c.Author, &c.Text, &at); err != nil {
			return err
		}
		c.Time = fromMicro(at)
		byID[id].Comments = append(byID[id].Comments, c)
		return nil
	}); err != nil {
		return fmt.Errorf("draft comments: %w", err)
	}
	votes, err := votesOn(ctx, q, gatehouse.FlowDraft, versions)
	for id, vs := range votes {
		byID[id].Votes = vs
	}
	return err
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func draftAAD(id, version int64) string { return fmt.Sprintf("draft:%d:%d", id, version) }

// draftBody returns a version's content as plain text.
func (db *DB) draftBody(ctx context.Context, q querier, r draftRow, version int64) (string, error) {
	var body string
	if err := q.QueryRowContext(ctx, `SELECT body FROM draft_versions WHERE draft_id = $1 AND version = $2`, r.ID, version).Scan(&body); err != nil {
		return "", fmt.Errorf("draft %d version %d: %w", r.ID, version, err)
	}
	if !draftKinds[r.Kind].sealed() {
		return body, nil
	}
	pt, err := db.secrets.Open(body, draftAAD(r.ID, version))
	if err != nil {
		return "", fmt.Errorf("unseal draft %d version %d: %w", r.ID, version, err)
	}
	return string(pt), nil
}

// draftJudgement is a draft's standing now: its subject, its latest version against what is
// live, and the verdicts of its judges.
type draftJudgement struct {
	judgement
	kind    draftKind
	subject subject
	body    string // latest version, plain
	current string // what is live, plain
	change  *gatehouse.ConfigChange
	lockout bool // judged by the lock-out rule: the policy's own approvers are all gone
}

// judgeDraft evaluates the votes on a draft's latest version now: the judges of its kind for
// this change, current eligibility, and its authors barred.
func (db *DB) judgeDraft(ctx context.Context, q querier, r draftRow) (draftJudgement, error) {
	j, err := db.draftStanding(ctx, q, r)
	if err != nil {
		return j, err
	}
	j.judgement, err = judge(ctx, q, j.Standing, r.Votes)
	return j, err
}

// draftStanding is a draft's judgement before its votes are counted: its subject, its latest
// version against what is live, and its standing (the judges of its kind for this change,
// its authors barred).
func (db *DB) draftStanding(ctx context.Context, q querier, r draftRow) (draftJudgement, error) {
	j := draftJudgement{kind: draftKinds[r.Kind]}
	var err error
	if j.subject, err = systemSubject(ctx, q, r.DraftRef); err != nil {
		return j, err
	}
	if j.body, err = db.draftBody(ctx, q, r, r.Version); err != nil {
		return j, err
	}
	if j.current, err = j.kind.live(ctx, db, q, j.subject); err != nil {
		return j, err
	}
	if j.change, err = j.kind.change(ctx, db, q, j.subject, "live", fmt.Sprintf("draft %d v%d", r.ID, r.Version), j.current, j.body); err != nil {
		return j, err
	}
	st := gatehouse.Standing{Facts: gatehouse.ApprovalFacts{Authors: r.Authors}}
	if st.Judges, err = j.kind.judges(ctx, db, q, j.subject, j.current, j.body, j.change); err != nil {
		return j, err
	}
	if b, ok := j.kind.(beneficiary); ok {
		st.Facts.Beneficiaries = b.beneficiaries(j.subject, j.current, j.body)
	}
	if lockable[r.Kind] && len(st.Judges) > 0 {
		ok, err := satisfiable(ctx, q, st)
		if err != nil {
			return j, err
		}
		if !ok {
			st.Judges, j.lockout = lockouts(st.Judges), true
		}
	}
	j.judgement = judgement{Standing: st}
	return j, nil
}

// lockable are the kinds of drafts that the lock-out rule judges once nobody who could meet
// their policies is left: changes of the policies themselves, and of who may vote under them
// (otherwise a policy whose approvers all left could never be met again).
var lockable = map[gatehouse.DraftKind]bool{gatehouse.DraftPolicy: true, gatehouse.DraftAccess: true}

// lockouts are the lock-out rules of the judges' policies, each once, where it first judged.
func lockouts(judges []gatehouse.Judge) []gatehouse.Judge {
	var out []gatehouse.Judge
	for _, j := range judges {
		lock := j.Policy
		if lock.Kind != gatehouse.PolicyLockout {
			lock = gatehouse.LockoutPolicy(j.Policy)
		}
		if !slices.ContainsFunc(out, func(o gatehouse.Judge) bool { return o.Policy.Name == lock.Name }) {
			out = append(out, gatehouse.Judge{Policy: lock, Target: j.Target})
		}
	}
	return out
}

// beneficiary is a draft kind whose changes give people a vote: they never approve them.
type beneficiary interface {
	beneficiaries(s subject, live, body string) []string
}

// systemSubject resolves a draft's subject as the system: the caller's rights were checked
// on the draft.
func systemSubject(ctx context.Context, q querier, ref gatehouse.DraftRef) (subject, error) {
	return resolveSubject(gatehouse.WithActor(ctx, gatehouse.SystemActor()), q, ref)
}

// view fills in what people see of a draft: the latest content (secrets masked), the change,
// the policies and their verdicts.
func (r draftRow) view(j draftJudgement) *gatehouse.Draft {
	d := r.Draft
	d.Content = j.kind.view(j.body)
	d.Change, d.Verdicts, d.Lockout = j.change, j.verdicts, j.lockout
	d.Policies = refs(j.Policies())
	return d
}

// visibleDraft reads a draft the caller may see.
func (db *DB) visibleDraft(ctx context.Context, q querier, id int64, lock string) (*gatehouse.Actor, draftRow, error) {
	who, err := actor(ctx)
	if err != nil {
		return nil, draftRow{}, err
	}
	r, err := findDraft(ctx, q, id, lock)
	if err != nil {
		return nil, r, err
	}
	switch r.Kind {
	case gatehouse.DraftPolicy, gatehouse.DraftWindow:
		// Seen by whoever sees the policy's (window's) scope, even once it is gone.
		if !visibleScope(who, r.scope) {
			return nil, r, gatehouse.NotFoundf("draft %d not found", id)
		}
		return who, r, nil
	case gatehouse.DraftAccess:
		// Seen by those who see the whole directory, and by everyone its judges count.
		if gatehouse.SeesDirectory(who.Grants) {
			return who, r, nil
		}
		if judged, err := db.judgedBy(ctx, q, r); err != nil {
			return nil, r, err
		} else if !judged {
			return nil, r, gatehouse.NotFoundf("draft %d not found", id)
		}
		return who, r, nil
	}
	if _, err := resolveSubject(ctx, q, r.DraftRef); err != nil {
		if gatehouse.KindOf(err) == gatehouse.KindNotFound {
			return nil, r, gatehouse.NotFoundf("draft %d not found", id)
		}
		return nil, r, err
	}
	return who, r, nil
}

// Draft implements gatehouse.DraftService.
func (s *DraftService) Draft(ctx context.Context, id int64) (*gatehouse.Draft, error) {
	_, r, err := s.db.visibleDraft(ctx, s.db.r, id, "")
	if err != nil {
		return nil, err
	}
	return s.db.viewDraft(ctx, s.db.r, r)
}

// viewDraft judges a draft and fills in what people see of it. A closed draft whose subject
// is gone (a policy its publishing deleted) shows its last version, judged by nobody.
func (db *DB) viewDraft(ctx context.Context, q querier, r draftRow) (*gatehouse.Draft, error) {
	j, err := db.viewStanding(ctx, q, r)
	if err != nil {
		return nil, err
	}
	if j.judgement, err = judge(ctx, q, j.Standing, r.Votes); err != nil {
		return nil, err
	}
	return r.view(j), nil
}

// viewStanding is the draft's standing as people see it (see viewDraft).
func (db *DB) viewStanding(ctx context.Context, q querier, r draftRow) (draftJudgement, error) {
	j, err := db.draftStanding(ctx, q, r)
	if gatehouse.KindOf(err) == gatehouse.KindNotFound && !r.State.Open() {
		j = draftJudgement{kind: draftKinds[r.Kind]}
		j.body, err = db.draftBody(ctx, q, r, r.Version)
	}
	return j, err
}

// Live implements gatehouse.DraftService.
func (s *DraftService) Live(ctx context.Context, ref gatehouse.DraftRef) (*gatehouse.Live, error) {
	return s.db.live(ctx, s.db.r, ref)
}

// live reads a subject as people see it now: its content (secret values masked), whether
// and by which policies it is protected, and its open draft.
func (db *DB) live(ctx context.Context, q querier, ref gatehouse.DraftRef) (*gatehouse.Live, error) {
	sub, err := resolveSubject(ctx, q, ref)
	if err != nil {
		return nil, err
	}
	k := draftKinds[ref.Kind]
	plain, err := k.live(ctx, db, q, sub)
	if err != nil {
		return nil, err
	}
	judges, err := k.judges(ctx, db, q, sub, plain, plain, nil)
	if err != nil {
		return nil, err
	}
	out := &gatehouse.Live{DraftRef: ref, Content: k.view(plain), Protected: len(judges) > 0, Policies: []string{}}
	for _, j := range judges {
		if !slices.Contains(out.Policies, j.Policy.Name) {
			out.Policies = append(out.Policies, j.Policy.Name)
		}
	}
	if sub.app != nil {
		out.Revision = sub.app.ConfigRevision
	}
	err = q.QueryRowContext(ctx, `SELECT id FROM drafts WHERE subject = $1 AND state IN ('draft', 'proposed', 'approved')`, sub.key()).Scan(&out.OpenDraft)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("open draft: %w", err)
	}
	return out, nil
}
