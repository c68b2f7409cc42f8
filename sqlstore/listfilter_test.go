package sqlstore_test

import (
	"context"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// TestApprovalLists: the inbox holds what the caller could vote on now (not the requester's
// own request, nothing for someone without the role); the state filter selects; an unknown
// state or an oversized limit is refused naming the field.
func TestApprovalLists(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		g := newGated(t, engine)
		mine := g.request(g.alice, g.digestA)
		_, err := g.approvals.Cancel(g.alice, mine.ID)
		g.must(err)
		open := g.request(g.alice, g.digestA)
		ids := func(who context.Context, f gatehouse.ApprovalFilter) []int64 {
			t.Helper()
			rs, err := gatehouse.Items(g.approvals.Approvals(who, f))
			g.must(err)
			var out []int64
			for _, r := range rs {
				out = append(out, r.ID)
			}
			return out
		}
		if got := ids(g.carol, gatehouse.ApprovalFilter{ForMe: true}); len(got) != 1 || got[0] != open.ID {
			t.Fatalf("carol's inbox = %v, want [%d]", got, open.ID)
		}
		if got := ids(g.alice, gatehouse.ApprovalFilter{ForMe: true}); len(got) != 0 {
			t.Fatalf("the requester's inbox = %v, want none", got)
		}
		if got := ids(g.carol, gatehouse.ApprovalFilter{State: gatehouse.ApprovalCancelled}); len(got) != 1 || got[0] != mine.ID {
			t.Fatalf("cancelled = %v, want [%d]", got, mine.ID)
		}
		if got := ids(g.carol, gatehouse.ApprovalFilter{Environment: "dev"}); len(got) != 0 {
			t.Fatalf("requests on dev = %v", got)
		}
		_, err = g.approvals.Approvals(g.carol, gatehouse.ApprovalFilter{State: "waiting"})
		wantErr(t, err, gatehouse.KindInvalid, "state", `"waiting" is not a state`, "pending")
		_, err = g.approvals.Approvals(g.carol, gatehouse.ApprovalFilter{Limit: 5000})
		wantErr(t, err, gatehouse.KindInvalid, "limit")
	})
}
