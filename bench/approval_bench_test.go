package bench_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/client"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

// voteWorld is a server with a gated stage whose policy no number of these votes meets (it
// names a person who never votes), so every request stays open for votes, and 8 approvers
// signed in for a CLI token each.
type voteWorld struct {
	srv       *testserver.Server
	approvers []*client.Client
	requests  chan int64
}

const votesPerRequest = 4

func newVoteWorld(b *testing.B, engine string, requests int) *voteWorld {
	srv := testserver.Start(b, engine)
	ctx := context.Background()
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	do := func(method, path string, in any) { must(srv.Admin.Do(ctx, method, path, nil, in, nil)) }
	kc := `{"apiVersion":"v1","kind":"Config","current-context":"c","contexts":[{"name":"c","context":{"cluster":"k"}}],"clusters":[{"name":"k","cluster":{"server":"https://127.0.0.1:6443"}}]}`
	do("POST", "/api/v1/projects", gatehouse.ProjectCreate{Name: "p"})
	do("POST", "/api/v1/clusters", gatehouse.ClusterCreate{Name: "k", Kubeconfig: gatehouse.OutgoingSecret(kc)})
	do("POST", "/api/v1/projects/p/environments", gatehouse.EnvironmentCreate{Name: "prod", Cluster: "k", Namespace: "p"})
	do("POST", "/api/v1/projects/p/apps", gatehouse.AppCreate{Name: "web"})
	do("PUT", "/api/v1/projects/p/apps/web/pipeline", gatehouse.PipelineSet{Stages: []gatehouse.Stage{{Environment: "prod"}}})
	do("POST", "/api/v1/users", gatehouse.UserCreate{Name: "absent", Password: gatehouse.OutgoingSecret(testserver.Password)})
	do("POST", "/api/v1/policies", gatehouse.PolicySpec{Name: "gate", Scope: "project:p/env:prod", Rules: []gatehouse.Rule{
		{Kind: "any", Count: 2}, {Kind: "users", Users: []string{"absent"}}}})
	w := &voteWorld{srv: srv, requests: make(chan int64, requests*votesPerRequest)}
	for i := 0; i < 2*votesPerRequest; i++ {
		w.approvers = append(w.approvers, srv.Person(fmt.Sprintf("approver%d", i), "image-approver@project:p"))
		w.approvers[i].HTTP.Transport = &http.Transport{MaxIdleConnsPerHost: 64}
	}
	for i := 0; i < requests; i++ {
		d := fmt.Sprintf("sha256:%064x", i+1)
		do("POST", "/api/v1/projects/p/apps/web/artifacts", gatehouse.ArtifactCreate{Image: "r.example.com/web@" + d})
		var r gatehouse.ApprovalRequest
		must(srv.Admin.Do(ctx, "POST", "/api/v1/projects/p/apps/web/approvals", nil, gatehouse.ApprovalCreate{Environment: "prod", Digest: d, Notify: []string{"approver0"}}, &r))
		for k := 0; k < votesPerRequest; k++ {
			w.requests <- r.ID
		}
	}
	return w
}

// vote casts the next vote: request ids come votesPerRequest times each, and the k-th time a
// request comes up, approver k (of the half chosen by the request's parity) votes.
func (w *voteWorld) vote(seen *sync.Map) (time.Duration, error) {
	id := <-w.requests
	n, _ := seen.LoadOrStore(id, new(atomic.Int64))
	k := int(n.(*atomic.Int64).Add(1) - 1)
	who := w.approvers[int(id%2)*votesPerRequest+k]
	t0 := time.Now()
	err := who.Do(context.Background(), "POST", fmt.Sprintf("/api/v1/approvals/%d/approve", id), nil, gatehouse.Decision{}, nil)
	return time.Since(t0), err
}

// BenchmarkVotes measures approval votes over the REST API (loopback HTTP, an interactive
// token, the full judgement: current policies, each voter's eligibility, the audit chain):
// the most votes per second 16 clients can cast, with their latency percentiles.
func BenchmarkVotes(b *testing.B) {
	for _, engine := range testdb.Engines {
		b.Run(engine, func(b *testing.B) {
			w := newVoteWorld(b, engine, b.N/votesPerRequest+1)
			var seen sync.Map
			saturate(b, 8, "votes", func() (time.Duration, error) { return w.vote(&seen) })
		})
	}
}

// BenchmarkVotesAt200PerSecond casts votes at a steady 200 per second (open loop: a vote is
// sent every 5 ms whatever the answers do) and reports the latency percentiles.
func BenchmarkVotesAt200PerSecond(b *testing.B) {
	for _, engine := range testdb.Engines {
		b.Run(engine, func(b *testing.B) {
			w := newVoteWorld(b, engine, b.N/votesPerRequest+1)
			var seen sync.Map
			var lat latencies
			var wg sync.WaitGroup
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				<-tick.C
				wg.Add(1)
				go func() {
					defer wg.Done()
					d, err := w.vote(&seen)
					if err != nil {
						b.Error(err)
						return
					}
					lat.add(d)
				}()
			}
			wg.Wait()
			lat.report(b, "votes", time.Since(start))
		})
	}
}
