package sqlstore

import (
	"context"
	"fmt"

	"github.com/gatehousehq/gatehouse"
)

// Approvals implements gatehouse.ApprovalService. A page costs the same few queries whatever
// it holds: the page, then its votes, artifacts and voters, and the policies, each read once
// for all its requests (see judgeRequests).
func (s *ApprovalService) Approvals(ctx context.Context, f gatehouse.ApprovalFilter) (gatehouse.Page[*gatehouse.ApprovalRequest], error) {
	var out gatehouse.Page[*gatehouse.ApprovalRequest]
	who, err := actor(ctx)
	if err != nil {
		return out, err
	}
	lf, err := filterOf(f.Project, f.App, f.Environment, f.State, gatehouse.ApprovalStates, f.ForMe, f.Limit, f.Cursor)
	if err != nil {
		return out, err
	}
	// What the caller may not see, and with "for me" what they could never vote on (no role
	// approving images there, a vote cast already, or no vote at all for who did not sign
	// in), stays out before LIMIT: a page of another project's requests never hides the
	// caller's own.
	lf.where = append(lf.where, func(args *sqlArgs) string { return seesSQL(who.Grants, args, at("p.name", "ap.name", "e.name")) })
	if f.ForMe {
		lf.where = append(lf.where, func(args *sqlArgs) string {
			return mayVoteSQL(who, []gatehouse.Action{gatehouse.ActionApproveImage}, args, at("p.name", "ap.name", "e.name")) +
				` AND NOT EXISTS (SELECT 1 FROM ballot_votes v WHERE v.flow = 'request' AND v.ballot_id = a.id AND v.voter = ` + args.add(who.UserName) + `)`
		})
	}
	q, args := lf.query(approvalSelect, "a", `'pending', 'approved'`)
	rows, err := queryAll(ctx, s.db.r, scanApproval, q, args...)
	if err != nil {
		return out, fmt.Errorf("list approvals: %w", err)
	}
	rows, out.Next = cut(lf.page, rows, func(r approvalRow) int64 { return r.ID })
	judged, err := judgeRequests(ctx, s.db.r, rows, who.UserName)
	if err != nil {
		return out, err
	}
	out.Items = []*gatehouse.ApprovalRequest{}
	for i, r := range rows {
		r.Verdicts = judged.verdicts[i]
		// The judges have the last word on "for me" (separation of duties, a request gone
		// stale); the cursor follows the rows read, so the next page starts after these.
		if f.ForMe && (judged.standings[i].Stale != "" || mayVoteAs(ctx, r, judged.standings[i], judged.caller(i)) != nil) {
			continue
		}
		out.Items = append(out.Items, r.ApprovalRequest)
	}
	return out, nil
}

// judgedPage is a page of ballots judged together: per ballot its standing and verdicts, and
// the roster that judged them, the caller included.
type judgedPage struct {
	standings []gatehouse.Standing
	verdicts  [][]gatehouse.Verdict
	roster    roster
	me        string
}

// caller is the caller as each judge of ballot i sees them, in votersOf's form.
func (p judgedPage) caller(i int) []map[string]gatehouse.Voter {
	return p.roster.of(p.standings[i], []string{p.me})
}

// judgeRequests judges a page of requests (their votes filled in) in four queries whatever
// it holds: their votes, the artifacts they approve, the policies, and the voters with the
// caller (me); each request is then judged by the domain's rules.
func judgeRequests(ctx context.Context, q querier, rows []approvalRow, me string) (judgedPage, error) {
	out := judgedPage{me: me}
	if len(rows) == 0 {
		return out, nil
	}
	versions := map[int64]int64{}
	for _, r := range rows {
		versions[r.ID] = r.version()
	}
	votes, err := votesOn(ctx, q, gatehouse.FlowRequest, versions)
	if err != nil {
		return out, err
	}
	arts, err := requestArtifacts(ctx, q, rows)
	if err != nil {
		return out, err
	}
	policies, err := allPolicies(ctx, q)
	if err != nil {
		return out, err
	}
	names := []string{me}
	for _, r := range rows {
		r.Votes = votes[r.ID]
		out.standings = append(out.standings, r.standingUnder(policies, arts[r.ID]))
		names = append(names, voterNames(r.Votes)...)
	}
	return out, judgePage(ctx, q, &out, names, rows)
}

// judgePage reads the roster of the named people for the page's standings in one go, and
// judges each ballot's votes.
func judgePage[B ballot](ctx context.Context, q querier, p *judgedPage, names []string, ballots []B) error {
	var err error
	if p.roster, err = loadRoster(ctx, q, names, approveActions(p.standings...)); err != nil {
		return err
	}
	for i, b := range ballots {
		p.verdicts = append(p.verdicts, p.roster.judge(p.standings[i], b.votes()).verdicts)
	}
	return nil
}
