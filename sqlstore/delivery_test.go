package sqlstore_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

func mins(m float64) time.Duration { return time.Duration(math.Round(m * float64(time.Minute))) }

func wantStat(t *testing.T, what string, got gatehouse.Stat, count int, median, p90 time.Duration) {
	t.Helper()
	if got.Count != count || got.Median != median || got.P90 != p90 {
		t.Errorf("%s: got %d, median %s, p90 %s; want %d, median %s, p90 %s", what, got.Count, got.Median, got.P90, count, median, p90)
	}
}

func period(from, to string) gatehouse.MetricsQuery {
	return gatehouse.MetricsQuery{Project: "shop", From: at(from), To: at(to)}
}

// TestDORAOfAHistory: the four metrics of the story, worked out by hand, on both engines.
func TestDORAOfAHistory(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		h := newHistory(t, engine)
		h.story()
		r, err := h.metrics.DORA(h.admin, period("2026-11-02 00:00", "2026-11-16 00:00"))
		h.must(err)
		if strings.Join(r.Environments, ",") != "prod" {
			t.Errorf("environments counted: %v, want the production one", r.Environments)
		}
		// Succeeded: c1, c3, c4, rb, c6 over 14 days, on Nov 2, 4, 9 and 15.
		if f := r.Frequency; f.Deployments != 5 || f.Days != 14 || math.Abs(f.PerDay-5.0/14) > 1e-9 || f.ActiveDays != 4 || f.Band != gatehouse.BandHigh {
			t.Errorf("deployment frequency: %+v", f)
		}
		// Changes c1 251m, c3 56m, c4 312m, c6 120m (from its push): median (120+251)/2,
		// p90 251 + 0.7 × 61.
		wantStat(t, "lead time", r.LeadTime.Stat, 4, mins(185.5), mins(293.7))
		if r.LeadTime.WithoutCommitTime != 1 || r.LeadTime.Band != gatehouse.BandHigh || len(r.Notes) != 1 {
			t.Errorf("lead time: %+v, notes %v", r.LeadTime, r.Notes)
		}
		// Ended: c1, c2, c3, c4, rb, c5, c6; failed: c2 (failed), c4 (undone by rb), c5 (rolled back).
		if f := r.Failures; f.Ended != 7 || f.Failed != 3 || math.Abs(f.Rate-3.0/7) > 1e-9 || f.Band != gatehouse.BandLow {
			t.Errorf("change failure rate: %+v", f)
		}
		// Restores 76m, 114m, 5120m: median 114m, p90 114 + 0.8 × 5006.
		wantStat(t, "time to restore", r.Restore.Stat, 3, mins(114), mins(4118.8))
		if r.Restore.Unrestored != 0 || r.Restore.Band != gatehouse.BandHigh {
			t.Errorf("time to restore: %+v", r.Restore)
		}
		if len(r.Weeks) != 2 {
			t.Fatalf("weeks: %+v", r.Weeks)
		}
		w1, w2 := r.Weeks[0], r.Weeks[1]
		if !w1.Start.Equal(at("2026-11-02 00:00")) || w1.Deployments != 2 || w1.Ended != 3 || w1.Failed != 1 || !w2.Start.Equal(at("2026-11-09 00:00")) ||
			w2.Deployments != 3 || w2.Ended != 4 || w2.Failed != 2 {
			t.Errorf("weeks: %+v", r.Weeks)
		}
		wantStat(t, "week 1 lead time", w1.LeadTime, 2, mins(153.5), mins(56+0.9*195))
		wantStat(t, "week 2 restores", w2.Restore, 2, mins(2617), mins(114+0.9*5006))

		// A failure window shorter than the time between c4 and the rollback: c4 is no
		// failure, and c2's restore is the only one besides c5's.
		q := period("2026-11-02 00:00", "2026-11-16 00:00")
		q.FailureWindow = time.Hour
		r, err = h.metrics.DORA(h.admin, q)
		h.must(err)
		if r.Failures.Failed != 2 {
			t.Errorf("with a 1h window %d failed changes, want 2 (c2, c5)", r.Failures.Failed)
		}
		wantStat(t, "time to restore with a 1h window", r.Restore.Stat, 2, mins((76+5120)/2.0), mins(76+0.9*5044))
	})
}

// TestDORAEdges: no deployments, one deployment, a period cutting through changes, another
// environment, an app, and what the caller sees.
func TestDORAEdges(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		h := newHistory(t, engine)
		h.story()
		none, err := h.metrics.DORA(h.admin, period("2026-10-01 00:00", "2026-10-15 00:00"))
		h.must(err)
		if none.Frequency.Deployments != 0 || none.Frequency.Band != gatehouse.BandNone || none.LeadTime.Stat.Count != 0 ||
			none.Failures.Ended != 0 || none.Failures.Rate != 0 || none.Failures.Band != gatehouse.BandNone || none.Restore.Band != gatehouse.BandNone {
			t.Errorf("a period with no deployments: %+v", none)
		}
		one, err := h.metrics.DORA(h.admin, period("2026-10-30 00:00", "2026-10-31 00:00"))
		h.must(err)
		if one.Frequency.Deployments != 1 || one.Frequency.PerDay != 1 || one.Frequency.Band != gatehouse.BandElite ||
			one.Failures.Rate != 0 || one.Failures.Band != gatehouse.BandElite || one.LeadTime.Band != gatehouse.BandHigh {
			t.Errorf("one deployment: %+v", one)
		}
		wantStat(t, "one deployment's lead time", one.LeadTime.Stat, 1, mins(80), mins(80))
		// Had that one been started with break-glass, it counts apart — there and nowhere else.
		h.exec(`UPDATE deployments SET break_glass = 'an emergency, counted apart' WHERE finished_at >= $1 AND finished_at < $2`,
			at("2026-10-30 00:00").UnixMicro(), at("2026-10-31 00:00").UnixMicro())
		if one, err = h.metrics.DORA(h.admin, period("2026-10-30 00:00", "2026-10-31 00:00")); err != nil || one.Frequency.BreakGlass != 1 || one.Frequency.Deployments != 1 {
			t.Errorf("one break-glass deployment: %+v %v", one.Frequency, err)
		}
		if other, err := h.metrics.DORA(h.admin, period("2026-10-31 00:00", "2026-11-16 00:00")); err != nil || other.Frequency.BreakGlass != 0 {
			t.Errorf("break-glass outside it: %+v %v", other.Frequency, err)
		}
		h.exec(`UPDATE deployments SET break_glass = ''`)

		// From Nov 9 15:00: rb, c5 and c6 ended inside; c4 ended before, so its undoing and
		// its restore are not counted; c7 ends after.
		cut, err := h.metrics.DORA(h.admin, period("2026-11-09 15:00", "2026-11-16 00:00"))
		h.must(err)
		if cut.Frequency.Deployments != 2 || cut.Failures.Ended != 3 || cut.Failures.Failed != 1 || cut.LeadTime.Stat.Count != 1 {
			t.Errorf("a period from Nov 9 15:00: %+v %+v %+v", cut.Frequency, cut.Failures, cut.LeadTime)
		}
		wantStat(t, "restores from Nov 9 15:00", cut.Restore.Stat, 1, mins(5120), mins(5120))
		// To Nov 12 09:05: c5 has not ended.
		cut, err = h.metrics.DORA(h.admin, period("2026-11-02 00:00", "2026-11-12 09:05"))
		h.must(err)
		if cut.Failures.Ended != 5 || cut.Failures.Failed != 2 {
			t.Errorf("a period to Nov 12 09:05: %+v", cut.Failures)
		}
		// To Nov 13: c5 failed inside, its restore (c6) is after the period and still counts.
		cut, err = h.metrics.DORA(h.admin, period("2026-11-12 00:00", "2026-11-13 00:00"))
		h.must(err)
		wantStat(t, "a restore after the period", cut.Restore.Stat, 1, mins(5120), mins(5120))

		dev := period("2026-11-02 00:00", "2026-11-16 00:00")
		dev.Environment = "dev"
		r, err := h.metrics.DORA(h.admin, dev)
		h.must(err)
		if r.Frequency.Deployments != 1 || strings.Join(r.Environments, ",") != "dev" {
			t.Errorf("dev: %+v %v", r.Frequency, r.Environments)
		}

		// api has one change of its own in prod; someone who sees only api sees only it.
		h.setClock(at("2026-11-10 10:00"))
		_, err = h.arts.CreateArtifact(h.admin, "shop", "api", gatehouse.ArtifactCreate{Image: "r.example.com/api@" + digestOf('a')})
		h.must(err)
		r2, err := h.approvals.RequestApproval(h.admin, "shop", "api", gatehouse.ApprovalCreate{Environment: "prod", Digest: digestOf('a')})
		h.must(err)
		_, err = h.approvals.Approve(h.bob, r2.ID, gatehouse.Decision{})
		h.must(err)
		d, err := h.deps.Deploy(h.admin, "shop", "api", gatehouse.DeploymentCreate{Environment: "prod", Digest: digestOf('a')})
		h.must(err)
		_, err = h.db.ClaimDeployment(context.Background(), d.ID, "w", time.Hour)
		h.must(err)
		h.must(h.db.AdvanceDeployment(context.Background(), d.ID, "w", sqlstore.Outcome{}, gatehouse.StateVerifying, gatehouse.StatePostDeploy, gatehouse.StateSucceeded))
		h.setClock(at("2026-11-20 00:00"))

		all, err := h.metrics.DORA(h.admin, period("2026-11-02 00:00", "2026-11-16 00:00"))
		h.must(err)
		apiOnly := h.person("ana", "viewer@project:shop/app:api")
		seen, err := h.metrics.DORA(apiOnly, period("2026-11-02 00:00", "2026-11-16 00:00"))
		h.must(err)
		asked := period("2026-11-02 00:00", "2026-11-16 00:00")
		asked.App = "api"
		byApp, err := h.metrics.DORA(h.admin, asked)
		h.must(err)
		if all.Frequency.Deployments != 6 || seen.Frequency.Deployments != 1 || byApp.Frequency.Deployments != 1 || seen.Failures.Ended != 1 {
			t.Errorf("all %d, seen by api's viewer %d (ended %d), app api %d", all.Frequency.Deployments, seen.Frequency.Deployments,
				seen.Failures.Ended, byApp.Frequency.Deployments)
		}
		asked.App = "web"
		_, err = h.metrics.DORA(apiOnly, asked)
		wantErr(t, err, gatehouse.KindNotFound, "web")
		_, err = h.metrics.DORA(h.person("nobody"), period("2026-11-02 00:00", "2026-11-16 00:00"))
		wantErr(t, err, gatehouse.KindNotFound, "shop")
		bad := period("2026-11-16 00:00", "2026-11-02 00:00")
		_, err = h.metrics.DORA(h.admin, bad)
		wantErr(t, err, gatehouse.KindInvalid, "from")
		bad = period("2026-11-02 00:00", "2026-11-16 00:00")
		bad.Environment = "nowhere"
		_, err = h.metrics.DORA(h.admin, bad)
		wantErr(t, err, gatehouse.KindNotFound, "nowhere")
	})
}

// TestLeadTimeBreakdownOfAHistory: the stages of the story's changes, the approval wait per
// policy and per approver, and the draft, worked out by hand, on both engines.
func TestLeadTimeBreakdownOfAHistory(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		h := newHistory(t, engine)
		h.story()
		r, err := h.metrics.LeadTime(h.admin, period("2026-11-02 00:00", "2026-11-16 00:00"))
		h.must(err)
		if r.Changes != 4 || r.WithoutCommitTime != 1 {
			t.Fatalf("changes %d, without commit time %d", r.Changes, r.WithoutCommitTime)
		}
		// Stages of c1, c3, c4, c6 (minutes):
		//   pushed    60 10 30 -      requested 30 0 30 30     approved 120 30 240 60
		//   queued    30  5  0 0      started    1 1  2  0     ready     10 10  10 30
		want := map[gatehouse.LeadStage][3]float64{
			gatehouse.LeadPushed:    {3, 30, 30 + 0.8*30},
			gatehouse.LeadRequested: {4, 30, 30},
			gatehouse.LeadApproved:  {4, 90, 120 + 0.7*120},
			gatehouse.LeadQueued:    {4, 2.5, 5 + 0.7*25},
			gatehouse.LeadStarted:   {4, 1, 1 + 0.7},
			gatehouse.LeadReady:     {4, 10, 10 + 0.7*20},
		}
		if len(r.Stages) != len(gatehouse.LeadStages) {
			t.Fatalf("stages: %+v", r.Stages)
		}
		for _, s := range r.Stages {
			w := want[s.Stage]
			wantStat(t, "stage "+string(s.Stage), s.Stat, int(w[0]), mins(w[1]), mins(w[2]))
		}
		wantStat(t, "approval wait", r.ApprovalWait, 4, mins(90), mins(204))
		if math.Abs(r.ApprovalShare-450.0/739) > 1e-9 {
			t.Errorf("approval share %f, want 450/739", r.ApprovalShare)
		}
		if len(r.Policies) != 1 || r.Policies[0].Policy != "prod-gate" {
			t.Fatalf("policies: %+v", r.Policies)
		}
		wantStat(t, "prod-gate's wait", r.Policies[0].Wait, 4, mins(90), mins(204))
		if len(r.Approvers) != 2 || r.Approvers[0].Approver != "bob" || r.Approvers[0].Votes != 3 || r.Approvers[1].Approver != "carol" || r.Approvers[1].Votes != 2 {
			t.Fatalf("approvers: %+v", r.Approvers)
		}
		wantStat(t, "bob's wait", r.Approvers[0].Wait, 3, mins(60), mins(108))
		wantStat(t, "carol's wait", r.Approvers[1].Wait, 2, mins(190), mins(230))
		if len(r.Drafts) != 1 || r.Drafts[0].Kind != gatehouse.DraftValues || r.Drafts[0].Published != 1 {
			t.Fatalf("drafts: %+v", r.Drafts)
		}
		wantStat(t, "draft review", r.Drafts[0].Review, 1, mins(60), mins(60))
		wantStat(t, "draft publish", r.Drafts[0].Publish, 1, mins(30), mins(30))
		// Week 2 holds c4 (312m) and c6 (120m): the stage means add up to the mean lead time.
		w2 := r.Weeks[1]
		var sum float64
		for _, s := range w2.Seconds {
			sum += s
		}
		if w2.Changes != 2 || math.Abs(sum-216*60) > 1e-6 || math.Abs(w2.Seconds[2]-150*60) > 1e-6 {
			t.Errorf("week 2: %+v (sum %f)", w2, sum)
		}
	})
}

// TestSeededHistory: the history the demo and the benchmarks write is one the metrics read
// whole: every deployment ended is counted, stages keep their order, the trail says a
// history was made up, and the chain still verifies.
func TestSeededHistory(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		h := newHistory(t, engine)
		from, to := at("2026-09-01 00:00"), at("2026-10-01 00:00")
		spec := sqlstore.HistorySpec{Project: "shop", Apps: []string{"web", "api"}, Environment: "prod", From: from, To: to,
			Deployments: 300, Approved: 0.5, Failures: 0.1, Rollbacks: 0.05, Policy: "prod-gate", Approvers: []string{"bob", "carol"}, Votes: 2, Seed: 3}
		h.must(h.db.SeedHistory(h.admin, spec))
		ended := h.countRows(`SELECT COUNT(*) FROM deployments WHERE finished_at >= $1 AND finished_at < $2`, from.UnixMicro(), to.UnixMicro())
		rollbacks := h.countRows(`SELECT COUNT(*) FROM deployments WHERE kind = 'rollback'`)
		r, err := h.metrics.DORA(h.admin, gatehouse.MetricsQuery{Project: "shop", From: from, To: to})
		h.must(err)
		if ended < 280 || r.Failures.Ended != ended || r.Failures.Failed == 0 || rollbacks == 0 || r.Restore.Stat.Count == 0 {
			t.Fatalf("%d deployments ended, %d rollbacks; metrics: %+v %+v", ended, rollbacks, r.Failures, r.Restore)
		}
		lt, err := h.metrics.LeadTime(h.admin, gatehouse.MetricsQuery{Project: "shop", From: from, To: to})
		h.must(err)
		for _, s := range lt.Stages {
			if s.Stat.Count == 0 || s.Stat.Median < 0 {
				t.Errorf("stage %s: %+v", s.Stage, s.Stat)
			}
		}
		if len(lt.Approvers) != 2 || lt.ApprovalShare <= 0 || lt.ApprovalShare >= 1 {
			t.Errorf("approvers %+v, approval share %f", lt.Approvers, lt.ApprovalShare)
		}
		if n := h.countRows(`SELECT COUNT(*) FROM audit_events WHERE action = 'history.seed'`); n != 1 {
			t.Errorf("%d history.seed events", n)
		}
		rep, err := h.audit.VerifyAudit(h.admin)
		h.must(err)
		if !rep.OK {
			t.Errorf("the trail no longer verifies: %+v", rep.Broken)
		}
		// A made-up approval lets nothing through: prod-gate pre-approves rollbacks to
		// approved deployments, yet neither a rollback to a seeded one nor its digest deploys.
		var seeded int64
		var digest string
		h.must(h.db.Raw().QueryRowContext(h.admin, `SELECT d.id, d.digest FROM deployments d JOIN apps a ON a.id = d.app_id
			WHERE a.name = 'web' AND d.state = 'succeeded' AND d.approval_id IS NOT NULL ORDER BY d.id DESC LIMIT 1`).Scan(&seeded, &digest))
		_, err = h.deps.Rollback(h.admin, "shop", "web", seeded)
		wantErr(t, err, gatehouse.KindPreconditionFailed, "retracted")
		_, err = h.deps.Deploy(h.admin, "shop", "web", gatehouse.DeploymentCreate{Environment: "dev", Digest: digest})
		wantErr(t, err, gatehouse.KindPreconditionFailed, "retracted")
		bad := spec
		bad.Apps = []string{"nowhere"}
		wantErr(t, h.db.SeedHistory(h.admin, bad), gatehouse.KindNotFound, "nowhere")
	})
}
