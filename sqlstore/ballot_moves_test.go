package sqlstore_test

import (
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// approvalsSeen records what the store tells its observer.
type approvalsSeen struct {
	mu    sync.Mutex
	waits []time.Duration
	envs  []string
}

func (a *approvalsSeen) ApprovalApproved(env string, wait time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.envs, a.waits = append(a.envs, env), append(a.waits, wait)
}

// TestBallotMovesStampAndObserve: a request becoming approved is told to the observer once,
// with its wait, and no other move of a request is; a draft's every move touches it at the
// moment of the move.
func TestBallotMovesStampAndObserve(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		h := newHistory(t, engine)
		seen := &approvalsSeen{}
		h.db.SetObserver(seen)
		h.setClock(at("2026-11-02 09:00"))
		_, err := h.arts.CreateArtifact(h.admin, "shop", "web", gatehouse.ArtifactCreate{Image: "r.example.com/web@" + digestOf('b')})
		h.must(err)
		_, err = h.arts.CreateArtifact(h.admin, "shop", "web", gatehouse.ArtifactCreate{Image: "r.example.com/web@" + digestOf('c')})
		h.must(err)
		r, err := h.approvals.RequestApproval(h.admin, "shop", "web", gatehouse.ApprovalCreate{Environment: "prod", Digest: digestOf('b')})
		h.must(err)
		other, err := h.approvals.RequestApproval(h.admin, "shop", "web", gatehouse.ApprovalCreate{Environment: "prod", Digest: digestOf('c')})
		h.must(err)
		h.setClock(at("2026-11-02 09:45"))
		_, err = h.approvals.Approve(h.bob, r.ID, gatehouse.Decision{})
		h.must(err)
		_, err = h.deps.Deploy(h.admin, "shop", "web", gatehouse.DeploymentCreate{Environment: "prod", Digest: digestOf('b')}) // consumes it
		h.must(err)
		_, err = h.approvals.Cancel(h.admin, other.ID)
		h.must(err)
		if len(seen.waits) != 1 || seen.waits[0] != 45*time.Minute || seen.envs[0] != "prod" {
			t.Fatalf("observed %v %v, want one approval in prod after 45m", seen.envs, seen.waits)
		}

		ref := gatehouse.DraftRef{Kind: gatehouse.DraftValues, Project: "shop", App: "web", Environment: "prod"}
		d, err := h.drafts.CreateDraft(h.admin, gatehouse.DraftCreate{DraftRef: ref, ConfigWrite: gatehouse.ConfigWrite{Content: "replicas: 9\n"}})
		h.must(err)
		h.setClock(at("2026-11-02 10:00"))
		d, err = h.drafts.ProposeDraft(h.admin, d.ID, gatehouse.DraftPropose{})
		h.must(err)
		h.setClock(at("2026-11-02 10:30"))
		_, err = h.drafts.DiscardDraft(h.admin, d.ID, "not now")
		h.must(err)
		if n := h.countRows(`SELECT COUNT(*) FROM drafts WHERE id = $1 AND updated_at = $2 AND proposed_at = $3`, d.ID,
			at("2026-11-02 10:30").UnixMicro(), at("2026-11-02 10:00").UnixMicro()); n != 1 {
			t.Fatalf("the discarded draft was not touched when discarded, or lost when it was proposed")
		}
	})
}
