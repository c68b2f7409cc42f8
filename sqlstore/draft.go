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
	j, err := tx.db.judgeDraft(tx.ctx, tx, r)
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
	d := r.Draft
	if d.Versions, err = queryAll(ctx, q, func(row scanner) (gatehouse.DraftVersion, error) {
		var v gatehouse.DraftVersion
		var at int64
		err := row.Scan(&v.Version, &v.Author, &v.Person, &v.Comment, &at)
		v.Time = fromMicro(at)
		return v, err
	}, `SELECT version, author, person, comment, at FROM draft_versions WHERE draft_id = $1 ORDER BY version`, id); err != nil {
		return r, fmt.Errorf("draft versions: %w", err)
	}
	d.Authors = []string{}
	for _, v := range d.Versions {
		if who := cmpOr(v.Person, v.Author); !slices.Contains(d.Authors, who) {
			d.Authors = append(d.Authors, who)
		}
	}
	if d.Comments, err = queryAll(ctx, q, func(row scanner) (gatehouse.DraftComment, error) {
		var c gatehouse.DraftComment
		var at int64
		err := row.Scan(&c.Author, &c.Text, &at)
		c.Time = fromMicro(at)
		return c, err
	}, `SELECT author, body, at FROM draft_comments WHERE draft_id = $1 ORDER BY id`, id); err != nil {
		return r, fmt.Errorf("draft comments: %w", err)
	}
	if d.Comments == nil {
		d.Comments = []gatehouse.DraftComment{}
	}
	d.Votes, err = votesOf(ctx, q, gatehouse.FlowDraft, id, d.Version)
	return r, err
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
	j.judgement, err = judge(ctx, q, st, r.Votes)
	return j, err
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
	j, err := db.judgeDraft(ctx, q, r)
	if gatehouse.KindOf(err) == gatehouse.KindNotFound && !r.State.Open() {
		j = draftJudgement{kind: draftKinds[r.Kind], judgement: judgement{verdicts: []gatehouse.Verdict{}}}
		j.body, err = db.draftBody(ctx, q, r, r.Version)
	}
	if err != nil {
		return nil, err
	}
	return r.view(j), nil
}

// Drafts implements gatehouse.DraftService.
func (s *DraftService) Drafts(ctx context.Context, f gatehouse.DraftFilter) ([]*gatehouse.Draft, error) {
	who, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if f.Kind != "" && !slices.Contains(gatehouse.DraftKinds, f.Kind) {
		return nil, gatehouse.Invalidf("kind", "%q is not a draft kind", f.Kind)
	}
	lf := filterOf(f.Project, f.App, f.Environment, f.State, gatehouse.DraftStates, f.ForMe, f.Limit)
	lf.kind = string(f.Kind)
	// Drafts of what the caller cannot see (in projects, apps and environments), and with
	// "for me" those they voted on at their version, stay out before LIMIT. Drafts of
	// policies, windows and access are seen by their own rules (visibleDraft), judged below.
	lf.where = append(lf.where, func(args *sqlArgs) string {
		return `(d.kind IN ('policy', 'window', 'access') OR ` + seesSQL(who.Grants, args, "p.name", "ap.name", "e.name") + `)`
	})
	if f.ForMe {
		lf.where = append(lf.where, func(args *sqlArgs) string {
			return `NOT EXISTS (SELECT 1 FROM ballot_votes v WHERE v.flow = 'draft' AND v.ballot_id = d.id AND v.version = d.version AND v.voter = ` +
				args.add(who.UserName) + `)`
		})
	}
	q, args, err := lf.query(draftSelect, "d", `'proposed', 'approved'`)
	if err != nil {
		return nil, err
	}
	rows, err := queryAll(ctx, s.db.r, scanDraft, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list drafts: %w", err)
	}
	out := []*gatehouse.Draft{}
	me := callerVoters{}
	for _, row := range rows {
		_, r, err := s.db.visibleDraft(ctx, s.db.r, row.ID, "")
		if gatehouse.KindOf(err) == gatehouse.KindNotFound {
			continue
		} else if err != nil {
			return nil, err
		}
		if f.ForMe {
			j, err := s.db.judgeDraft(ctx, s.db.r, r)
			if err != nil {
				return nil, err
			}
			vs, err := me.of(ctx, s.db.r, j.Standing)
			if err != nil {
				return nil, err
			}
			if !gatehouse.FlowDraft.Votable(r.State) || mayVoteAs(ctx, r, j.Standing, vs) != nil {
				continue
			}
		}
		d, err := s.db.viewDraft(ctx, s.db.r, r)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
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

// judgedBy reports whether the caller holds the approver role that a judge of the draft
// counts, where it counts: the people a draft waits for may read it.
func (db *DB) judgedBy(ctx context.Context, q querier, r draftRow) (bool, error) {
	j, err := db.judgeDraft(ctx, q, r)
	if gatehouse.KindOf(err) == gatehouse.KindNotFound {
		return false, nil
	} else if err != nil {
		return false, err
	}
	vs, err := callerVoters{}.of(ctx, q, j.Standing)
	if err != nil {
		return false, err
	}
	name := gatehouse.ActorFrom(ctx).UserName
	return slices.ContainsFunc(vs, func(m map[string]gatehouse.Voter) bool { return m[name].Eligible }), nil
}
