package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

// draftPlace is where a draft of the kind is, for the SQL forms of access decisions: policy
// and window drafts are in the scope they were begun on, access drafts in no one place
// (anywhere), every other kind at its project, app and environment.
func draftPlace(k gatehouse.DraftKind) place {
	switch k {
	case gatehouse.DraftPolicy, gatehouse.DraftWindow:
		return scopedAt("d.scope")
	case gatehouse.DraftAccess:
		return anywhere
	}
	return at("p.name", "ap.name", "e.name")
}

// byDraftKind is the SQL that holds of a draft when cond holds of its kind: one alternative
// per kind, so each kind's rule reads the draft at the kind's place.
func byDraftKind(args *sqlArgs, cond func(k gatehouse.DraftKind, at place) string) string {
	var alts []string
	for _, k := range gatehouse.DraftKinds {
		alts = append(alts, "(d.kind = "+args.add(string(k))+" AND "+cond(k, draftPlace(k))+")")
	}
	return "(" + strings.Join(alts, " OR ") + ")"
}

// Drafts implements gatehouse.DraftService. Which drafts the caller sees, and with "for me"
// which they may vote on (the approve role that a judge of the kind counts, held where the
// draft is; no vote cast on its version), are conditions of the query, before LIMIT. A page
// is read in a few queries (the page, its versions, comments and votes, the voters); each
// draft's subject and judges are then read as the draft's kind reads them.
func (s *DraftService) Drafts(ctx context.Context, f gatehouse.DraftFilter) (gatehouse.Page[*gatehouse.Draft], error) {
	var out gatehouse.Page[*gatehouse.Draft]
	who, err := actor(ctx)
	if err != nil {
		return out, err
	}
	if f.Kind != "" && !slices.Contains(gatehouse.DraftKinds, f.Kind) {
		return out, gatehouse.Invalidf("kind", "%q is not a draft kind", f.Kind)
	}
	lf, err := filterOf(f.Project, f.App, f.Environment, f.State, gatehouse.DraftStates, f.ForMe, f.Limit, f.Cursor)
	if err != nil {
		return out, err
	}
	lf.kind = string(f.Kind)
	directory := gatehouse.SeesDirectory(who.Grants)
	lf.where = append(lf.where, func(args *sqlArgs) string {
		return byDraftKind(args, func(k gatehouse.DraftKind, at place) string {
			if k != gatehouse.DraftAccess {
				return seesSQL(who.Grants, args, at)
			}
			// Seen by who sees the whole directory, and by those its judges count: people
			// holding an approve role (which judge counts them is read below).
			if directory {
				return "1 = 1"
			}
			return allowsAnySQL(who.Grants, k.VoteActions(), args, at)
		})
	})
	if f.ForMe {
		lf.where = append(lf.where, func(args *sqlArgs) string {
			return byDraftKind(args, func(k gatehouse.DraftKind, at place) string { return mayVoteSQL(who, k.VoteActions(), args, at) }) +
				` AND NOT EXISTS (SELECT 1 FROM ballot_votes v WHERE v.flow = 'draft' AND v.ballot_id = d.id AND v.version = d.version AND v.voter = ` +
				args.add(who.UserName) + `)`
		})
	}
	q, args := lf.query(draftSelect, "d", `'proposed', 'approved'`)
	rows, err := queryAll(ctx, s.db.r, scanDraft, q, args...)
	if err != nil {
		return out, fmt.Errorf("list drafts: %w", err)
	}
	rows, out.Next = cut(lf.page, rows, func(r draftRow) int64 { return r.ID })
	if err := fillDrafts(ctx, s.db.r, rows); err != nil {
		return out, err
	}
	judged := judgedPage{me: who.UserName}
	names := []string{who.UserName}
	views := make([]draftJudgement, len(rows))
	for i, r := range rows {
		if views[i], err = s.db.viewStanding(ctx, s.db.r, r); err != nil {
			return out, err
		}
		judged.standings = append(judged.standings, views[i].Standing)
		names = append(names, voterNames(r.Votes)...)
	}
	if err := judgePage(ctx, s.db.r, &judged, names, rows); err != nil {
		return out, err
	}
	out.Items = []*gatehouse.Draft{}
	for i, r := range rows {
		st := judged.standings[i]
		if r.Kind == gatehouse.DraftAccess && !directory && !judged.roster.counts(who.UserName, st) {
			continue
		}
		if f.ForMe && (!gatehouse.FlowDraft.Votable(r.State) || mayVoteAs(ctx, r, st, judged.caller(i)) != nil) {
			continue
		}
		views[i].verdicts = judged.verdicts[i]
		out.Items = append(out.Items, r.view(views[i]))
	}
	return out, nil
}

// judgedBy reports whether the caller holds the approver role that a judge of the draft
// counts, where it counts: the people a draft waits for may read it.
func (db *DB) judgedBy(ctx context.Context, q querier, r draftRow) (bool, error) {
	j, err := db.draftStanding(ctx, q, r)
	if gatehouse.KindOf(err) == gatehouse.KindNotFound {
		return false, nil
	} else if err != nil {
		return false, err
	}
	name := gatehouse.ActorFrom(ctx).UserName
	ro, err := loadRoster(ctx, q, []string{name}, approveActions(j.Standing))
	return err == nil && ro.counts(name, j.Standing), err
}
