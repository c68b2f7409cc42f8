package sqlstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// history drives real deployments, approvals and drafts through the store, each step at a
// moment the test sets, so delivery metrics can be checked against figures worked out by
// hand.
type history struct {
	*fixture
	deps      *sqlstore.DeploymentService
	approvals *sqlstore.ApprovalService
	metrics   *sqlstore.MetricsService
	bob       context.Context
	carol     context.Context
}

func newHistory(t *testing.T, engine string) *history {
	f := newFixture(t, engine)
	f.setClock(at("2026-10-01 00:00"))
	_, deps := f.pipelineWorld()
	h := &history{fixture: f, deps: deps, approvals: sqlstore.NewApprovalService(f.db), metrics: sqlstore.NewMetricsService(f.db)}
	h.bob = f.person("bob", "image-approver@project:shop", "config-approver@project:shop")
	h.carol = f.person("carol", "image-approver@project:shop")
	// api shares prod, with a pipeline set before the policies judge pipelines.
	_, err := f.apps.CreateApp(f.admin, "shop", gatehouse.AppCreate{Name: "api"})
	f.must(err)
	_, err = f.pipes.SetPipeline(f.admin, "shop", "api", gatehouse.PipelineSet{Stages: []gatehouse.Stage{{Environment: "prod"}}})
	f.must(err)
	policies := sqlstore.NewPolicyService(f.db)
	_, err = policies.CreatePolicy(f.admin, gatehouse.PolicySpec{Name: "prod-gate", Scope: "project:shop/env:prod",
		Rules: []gatehouse.Rule{{Kind: gatehouse.RuleAny, Count: 1}}, Rollback: gatehouse.RollbackPreApproved})
	f.must(err)
	_, err = policies.CreatePolicy(f.admin, gatehouse.PolicySpec{Name: "prod-config", Kind: gatehouse.PolicyConfig, Scope: "project:shop/env:prod",
		Rules: []gatehouse.Rule{{Kind: gatehouse.RuleAny, Count: 1}}, ConfigRollback: gatehouse.RollbackPreApproved})
	f.must(err)
	return h
}

// at reads "2006-01-02 15:04" as UTC.
func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func (f *fixture) setClock(t time.Time) {
	f.clock.mu.Lock()
	defer f.clock.mu.Unlock()
	f.clock.now = t
}

func digestOf(c byte) string { return "sha256:" + strings.Repeat(string(c), 64) }

// change is one artifact's way to an environment: when each step happens ("" skips it).
type change struct {
	digest                byte
	env                   string
	commit, push, request string
	votes                 map[string]string // approver (bob, carol) → when
	queue, start, end     string
	outcome               gatehouse.DeploymentState
	rollbackOf            int64 // a rollback of this deployment instead of a push
	deployment            *gatehouse.Deployment
	approval              *gatehouse.ApprovalRequest
}

// run plays c and returns its deployment.
func (h *history) run(c *change) *gatehouse.Deployment {
	h.t.Helper()
	ctx := context.Background()
	env := c.env
	if env == "" {
		env = "prod"
	}
	digest := digestOf(c.digest)
	if c.rollbackOf == 0 {
		h.setClock(at(c.push))
		in := gatehouse.ArtifactCreate{Image: "r.example.com/web@" + digest}
		if c.commit != "" {
			t := at(c.commit)
			in.CommitTime = &t
		}
		_, err := h.arts.CreateArtifact(h.admin, "shop", "web", in)
		h.must(err)
	}
	if c.request != "" {
		h.setClock(at(c.request))
		r, err := h.approvals.RequestApproval(h.admin, "shop", "web", gatehouse.ApprovalCreate{Environment: env, Digest: digest})
		h.must(err)
		c.approval = r
		for _, who := range []string{"bob", "carol"} {
			when, ok := c.votes[who]
			if !ok {
				continue
			}
			h.setClock(at(when))
			voter := map[string]context.Context{"bob": h.bob, "carol": h.carol}[who]
			_, err := h.approvals.Approve(voter, r.ID, gatehouse.Decision{})
			h.must(err)
		}
	}
	h.setClock(at(c.queue))
	var d *gatehouse.Deployment
	var err error
	if c.rollbackOf != 0 {
		d, err = h.deps.Rollback(h.admin, "shop", "web", c.rollbackOf)
	} else {
		d, err = h.deps.Deploy(h.admin, "shop", "web", gatehouse.DeploymentCreate{Environment: env, Digest: digest})
	}
	h.must(err)
	h.setClock(at(c.start))
	_, err = h.db.ClaimDeployment(ctx, d.ID, "w", time.Hour)
	h.must(err)
	h.setClock(at(c.end))
	path := map[gatehouse.DeploymentState][]gatehouse.DeploymentState{
		gatehouse.StateSucceeded:  {gatehouse.StateVerifying, gatehouse.StatePostDeploy, gatehouse.StateSucceeded},
		gatehouse.StateFailed:     {gatehouse.StateFailed},
		gatehouse.StateRolledBack: {gatehouse.StateVerifying, gatehouse.StateRolledBack},
	}[c.outcome]
	h.must(h.db.AdvanceDeployment(ctx, d.ID, "w", sqlstore.Outcome{}, path...))
	c.deployment = d
	return d
}

// story is the history the figures below are worked out from (period 2026-11-02 to
// 2026-11-16, two weeks from Monday; every time UTC):
//
//	c0  Oct 30  d0 committed 09:00, pushed 10:00, approved 10:10, ready 10:20 (before the period)
//	dev Nov 02  d1 to dev (not production): never counted by default
//	c1  Nov 02  d1 committed 08:00, pushed 09:00, requested 09:30, bob 11:30, carol 11:50,
//	            queued 12:00, started 12:01, ready 12:11                    lead 251m
//	c2  Nov 04  d2 pushed 10:00 (no commit time), bob 10:20, queued 10:30, failed 10:40
//	c3  Nov 04  d3 committed 11:00, pushed 11:10, bob 11:40, queued 11:45, started 11:46,
//	            ready 11:56: restores c2 after 76m                           lead 56m
//	c4  Nov 09  d4 committed 09:00, pushed 09:30, requested 10:00, carol 14:00, started 14:02,
//	            ready 14:12                                                   lead 312m
//	rb  Nov 09  rollback to c3 queued 16:00, ready 16:06: undoes c4 (1h48m after it), which
//	            it restores after 114m; d3 was there before, so it is no change
//	c5  Nov 12  d5 committed and pushed 08:00, bob 08:40, started 09:00, rolled back 09:10
//	cfg Nov 13  a values draft for prod proposed 09:00, approved 10:00, published 10:30
//	c6  Nov 15  d6 pushed 20:30 (no commit time), requested 21:00, bob 22:00, ready 22:30:
//	            restores c5 after 3d13h20m                                     lead 120m
//	c7  Nov 15  d7 pushed 23:00, ready Nov 16 00:05: after the period
func (h *history) story() map[string]*change {
	cs := map[string]*change{
		"c0": {digest: '0', commit: "2026-10-30 09:00", push: "2026-10-30 10:00", request: "2026-10-30 10:00",
			votes: map[string]string{"bob": "2026-10-30 10:10"}, queue: "2026-10-30 10:10", start: "2026-10-30 10:10", end: "2026-10-30 10:20", outcome: gatehouse.StateSucceeded},
		"dev": {digest: '8', env: "dev", push: "2026-11-02 07:00", queue: "2026-11-02 07:00", start: "2026-11-02 07:01", end: "2026-11-02 07:05", outcome: gatehouse.StateSucceeded},
		"c1": {digest: '9', commit: "2026-11-02 08:00", push: "2026-11-02 09:00", request: "2026-11-02 09:30",
			votes: map[string]string{"bob": "2026-11-02 11:30", "carol": "2026-11-02 11:50"}, queue: "2026-11-02 12:00", start: "2026-11-02 12:01", end: "2026-11-02 12:11", outcome: gatehouse.StateSucceeded},
		"c2": {digest: '2', push: "2026-11-04 10:00", request: "2026-11-04 10:00", votes: map[string]string{"bob": "2026-11-04 10:20"},
			queue: "2026-11-04 10:30", start: "2026-11-04 10:30", end: "2026-11-04 10:40", outcome: gatehouse.StateFailed},
		"c3": {digest: '3', commit: "2026-11-04 11:00", push: "2026-11-04 11:10", request: "2026-11-04 11:10", votes: map[string]string{"bob": "2026-11-04 11:40"},
			queue: "2026-11-04 11:45", start: "2026-11-04 11:46", end: "2026-11-04 11:56", outcome: gatehouse.StateSucceeded},
		"c4": {digest: '4', commit: "2026-11-09 09:00", push: "2026-11-09 09:30", request: "2026-11-09 10:00", votes: map[string]string{"carol": "2026-11-09 14:00"},
			queue: "2026-11-09 14:00", start: "2026-11-09 14:02", end: "2026-11-09 14:12", outcome: gatehouse.StateSucceeded},
		"c5": {digest: '5', commit: "2026-11-12 08:00", push: "2026-11-12 08:00", request: "2026-11-12 08:10", votes: map[string]string{"bob": "2026-11-12 08:40"},
			queue: "2026-11-12 09:00", start: "2026-11-12 09:00", end: "2026-11-12 09:10", outcome: gatehouse.StateRolledBack},
		"c6": {digest: '6', push: "2026-11-15 20:30", request: "2026-11-15 21:00", votes: map[string]string{"bob": "2026-11-15 22:00"},
			queue: "2026-11-15 22:00", start: "2026-11-15 22:00", end: "2026-11-15 22:30", outcome: gatehouse.StateSucceeded},
		"c7": {digest: '7', push: "2026-11-15 23:00", request: "2026-11-15 23:00", votes: map[string]string{"bob": "2026-11-15 23:30"},
			queue: "2026-11-15 23:50", start: "2026-11-16 00:00", end: "2026-11-16 00:05", outcome: gatehouse.StateSucceeded},
	}
	for _, name := range []string{"c0", "dev", "c1", "c2", "c3", "c4"} {
		h.run(cs[name])
	}
	cs["rb"] = &change{rollbackOf: cs["c3"].deployment.ID, queue: "2026-11-09 16:00", start: "2026-11-09 16:01", end: "2026-11-09 16:06", outcome: gatehouse.StateSucceeded}
	h.run(cs["rb"])
	h.run(cs["c5"])
	h.setClock(at("2026-11-13 09:00"))
	ref := gatehouse.DraftRef{Kind: gatehouse.DraftValues, Project: "shop", App: "web", Environment: "prod"}
	d, err := h.drafts.CreateDraft(h.admin, gatehouse.DraftCreate{DraftRef: ref, ConfigWrite: gatehouse.ConfigWrite{Content: "replicas: 6\n"}})
	h.must(err)
	d, err = h.drafts.ProposeDraft(h.admin, d.ID, gatehouse.DraftPropose{})
	h.must(err)
	h.setClock(at("2026-11-13 10:00"))
	d, err = h.drafts.ApproveDraft(h.bob, d.ID, gatehouse.Decision{Version: d.Version})
	h.must(err)
	h.setClock(at("2026-11-13 10:30"))
	_, err = h.drafts.PublishDraft(h.admin, d.ID)
	h.must(err)
	h.run(cs["c6"])
	h.run(cs["c7"])
	h.setClock(at("2026-11-20 00:00"))
	return cs
}
