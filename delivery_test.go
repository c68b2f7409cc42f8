package gatehouse_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

var epoch = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// deployment is a generated deployment: what the store reads of one.
type deployment struct {
	ID                               int64
	App, Environment                 string
	Kind                             gatehouse.DeploymentKind
	State                            gatehouse.DeploymentState
	RollbackOf                       int64
	FirstOfDigest                    bool
	CommitTime, PushedAt             time.Time
	RequestedAt, ApprovedAt          time.Time
	CreatedAt, StartedAt, FinishedAt time.Time
	Policies                         []string
}

// randomHistory generates the deployments of a few releases over about 60 days, each
// release's one after another.
func randomHistory(r *rand.Rand) []deployment {
	var facts []deployment
	id := int64(0)
	for _, app := range []string{"api", "web"}[:1+r.IntN(2)] {
		for _, env := range []string{"prod", "prod-eu"}[:1+r.IntN(2)] {
			t := epoch.Add(time.Duration(r.IntN(48)) * time.Hour)
			seen := map[int]bool{}
			var succeeded []int64
			for n := r.IntN(40); n > 0; n-- {
				id++
				t = t.Add(time.Duration(1+r.IntN(3000)) * time.Minute)
				min := func(k int) time.Duration { return time.Duration(r.IntN(k)) * time.Minute }
				f := deployment{ID: id, App: app, Environment: env, Kind: gatehouse.KindDeploy}
				digest := r.IntN(30)
				f.PushedAt = t
				if r.IntN(3) > 0 {
					f.CommitTime = t.Add(-min(600))
				}
				queueFrom := t
				if r.IntN(4) > 0 {
					f.RequestedAt = t.Add(min(120))
					f.ApprovedAt = f.RequestedAt.Add(min(2000))
					f.Policies = []string{"gate"}
					queueFrom = f.ApprovedAt
				}
				if len(succeeded) > 0 && r.IntN(6) == 0 {
					f.Kind, f.RollbackOf = gatehouse.KindRollback, succeeded[r.IntN(len(succeeded))]
					f.RequestedAt, f.ApprovedAt, f.Policies, queueFrom = time.Time{}, time.Time{}, nil, t
				}
				f.CreatedAt = queueFrom.Add(min(60))
				f.StartedAt = f.CreatedAt.Add(min(10))
				f.FinishedAt = f.StartedAt.Add(min(30))
				t = f.FinishedAt
				f.State = []gatehouse.DeploymentState{gatehouse.StateSucceeded, gatehouse.StateSucceeded, gatehouse.StateSucceeded, gatehouse.StateFailed, gatehouse.StateRolledBack}[r.IntN(5)]
				if f.State == gatehouse.StateSucceeded {
					f.FirstOfDigest = f.Kind == gatehouse.KindDeploy && !seen[digest]
					seen[digest] = true
					succeeded = append(succeeded, id)
				}
				facts = append(facts, f)
			}
		}
	}
	return facts
}

// compute runs a Delivery over [from, to) on the facts the store's queries would give it:
// day counts, changes, failures with their restore, successes a rollback undid.
func compute(facts []deployment, from, to time.Time) *gatehouse.Delivery {
	q, err := gatehouse.MetricsQuery{Project: "shop", From: from, To: to}.Normalize(to)
	if err != nil {
		panic(err)
	}
	d := gatehouse.NewDelivery(q)
	in := func(t time.Time) bool { return !t.Before(q.From) && t.Before(q.To) }
	restored := func(f deployment) time.Time {
		var next time.Time
		for _, n := range facts {
			if n.App == f.App && n.Environment == f.Environment && n.State == gatehouse.StateSucceeded && n.FinishedAt.After(f.FinishedAt) &&
				(next.IsZero() || n.FinishedAt.Before(next)) {
				next = n.FinishedAt
			}
		}
		return next
	}
	days := map[time.Time]*gatehouse.DayCount{}
	for _, f := range facts {
		if !in(f.FinishedAt) {
			continue
		}
		day := f.FinishedAt.Truncate(24 * time.Hour)
		if days[day] == nil {
			days[day] = &gatehouse.DayCount{Day: day}
		}
		switch f.State {
		case gatehouse.StateSucceeded:
			days[day].Succeeded++
			if f.FirstOfDigest {
				d.AddChange(gatehouse.ChangeFact{CommitTime: f.CommitTime, PushedAt: f.PushedAt, RequestedAt: f.RequestedAt, ApprovedAt: f.ApprovedAt,
					CreatedAt: f.CreatedAt, StartedAt: f.StartedAt, FinishedAt: f.FinishedAt, Policies: f.Policies})
			}
		case gatehouse.StateFailed:
			days[day].Failed++
			d.AddFailure(gatehouse.EndFact{ID: f.ID, FinishedAt: f.FinishedAt, RestoredAt: restored(f)})
		default:
			days[day].RolledBack++
			d.AddFailure(gatehouse.EndFact{ID: f.ID, FinishedAt: f.FinishedAt, RestoredAt: restored(f)})
		}
	}
	for _, c := range days {
		d.AddDay(*c)
	}
	for _, r := range facts {
		if r.Kind != gatehouse.KindRollback || r.CreatedAt.Before(q.From.Add(-q.FailureWindow)) || !r.CreatedAt.Before(q.To.Add(q.FailureWindow)) {
			continue
		}
		for _, s := range facts {
			if s.App == r.App && s.Environment == r.Environment && s.ID > r.RollbackOf && s.ID < r.ID && s.State == gatehouse.StateSucceeded && in(s.FinishedAt) {
				d.AddUndo(gatehouse.UndoFact{EndFact: gatehouse.EndFact{ID: s.ID, FinishedAt: s.FinishedAt, RestoredAt: restored(s)}, RollbackQueued: r.CreatedAt})
			}
		}
	}
	return d
}

// TestDeliveryProperty: over generated histories, deployment frequency and the deployments
// that ended add up across adjacent periods, the change failure rate stays in [0, 1], every
// change's stages add up to its lead time, and no lead time is shorter than its approval wait.
func TestDeliveryProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	changes := 0
	for iter := 0; iter < 300; iter++ {
		facts := randomHistory(r)
		a := epoch.Add(time.Duration(r.IntN(30*24)) * time.Hour).Truncate(time.Second)
		b := a.Add(time.Duration(1+r.IntN(30*24*60)) * time.Minute)
		c := b.Add(time.Duration(1+r.IntN(30*24*60)) * time.Minute)
		whole, left, right := compute(facts, a, c).DORA(nil), compute(facts, a, b).DORA(nil), compute(facts, b, c).DORA(nil)
		if whole.Frequency.Deployments != left.Frequency.Deployments+right.Frequency.Deployments {
			t.Fatalf("iteration %d: %d deployments over [a,c), %d + %d over [a,b) and [b,c)", iter, whole.Frequency.Deployments,
				left.Frequency.Deployments, right.Frequency.Deployments)
		}
		if whole.Failures.Ended != left.Failures.Ended+right.Failures.Ended || whole.LeadTime.Stat.Count != left.LeadTime.Stat.Count+right.LeadTime.Stat.Count {
			t.Fatalf("iteration %d: ended or changes do not add up: %+v, %+v, %+v", iter, whole.Failures, left.Failures, right.Failures)
		}
		for _, x := range []*gatehouse.DORAReport{whole, left, right} {
			if x.Failures.Rate < 0 || x.Failures.Rate > 1 || x.Failures.Failed > x.Failures.Ended {
				t.Fatalf("iteration %d: change failure rate %+v", iter, x.Failures)
			}
		}
		// Each change alone: a period holding only its end.
		for _, f := range facts {
			if !f.FirstOfDigest {
				continue
			}
			changes++
			lt := compute(facts, f.FinishedAt, f.FinishedAt.Add(time.Second)).LeadTime(nil)
			if lt.Changes != 1 {
				t.Fatalf("iteration %d: deployment %d alone: %d changes", iter, f.ID, lt.Changes)
			}
			var sum time.Duration
			for _, s := range lt.Stages {
				sum += s.Stat.Mean
			}
			if sum != lt.LeadTime.Mean || lt.LeadTime.Mean < lt.ApprovalWait.Mean || lt.ApprovalShare < 0 || lt.ApprovalShare > 1 {
				t.Fatalf("iteration %d: deployment %d: stages add to %s, lead time %s, approval wait %s, share %f", iter, f.ID, sum,
					lt.LeadTime.Mean, lt.ApprovalWait.Mean, lt.ApprovalShare)
			}
		}
	}
	if changes < 1000 {
		t.Fatalf("only %d changes generated: the generator is too thin to mean anything", changes)
	}
}

func TestSummarize(t *testing.T) {
	m := func(n float64) time.Duration { return time.Duration(n * float64(time.Minute)) }
	for _, c := range []struct {
		in               []time.Duration
		median, p90, avg time.Duration
	}{
		{nil, 0, 0, 0},
		{[]time.Duration{m(5)}, m(5), m(5), m(5)},
		{[]time.Duration{m(4), m(1), m(3), m(2)}, m(2.5), m(3.7), m(2.5)},
		{[]time.Duration{m(1), m(2), m(3), m(4), m(5), m(6), m(7), m(8), m(9), m(10)}, m(5.5), m(9.1), m(5.5)},
	} {
		s := gatehouse.Summarize(c.in)
		if s.Count != len(c.in) || s.Median != c.median || s.P90 != c.p90 || s.Mean != c.avg {
			t.Errorf("Summarize(%v) = %+v, want median %s p90 %s mean %s", c.in, s, c.median, c.p90, c.avg)
		}
	}
}

func TestBands(t *testing.T) {
	h := time.Hour
	for _, c := range []struct {
		got, want gatehouse.Band
	}{
		{gatehouse.FrequencyBand(3), gatehouse.BandElite}, {gatehouse.FrequencyBand(1), gatehouse.BandElite},
		{gatehouse.FrequencyBand(0.5), gatehouse.BandHigh}, {gatehouse.FrequencyBand(1.0 / 30), gatehouse.BandHigh},
		{gatehouse.FrequencyBand(1.0 / 31), gatehouse.BandMedium}, {gatehouse.FrequencyBand(1.0 / 200), gatehouse.BandLow},
		{gatehouse.LeadTimeBand(59 * time.Minute), gatehouse.BandElite}, {gatehouse.LeadTimeBand(h), gatehouse.BandHigh},
		{gatehouse.LeadTimeBand(7*24*h - 1), gatehouse.BandHigh}, {gatehouse.LeadTimeBand(7 * 24 * h), gatehouse.BandMedium},
		{gatehouse.LeadTimeBand(182 * 24 * h), gatehouse.BandLow},
		{gatehouse.RestoreBand(30 * time.Minute), gatehouse.BandElite}, {gatehouse.RestoreBand(23 * h), gatehouse.BandHigh},
		{gatehouse.RestoreBand(24 * h), gatehouse.BandMedium}, {gatehouse.RestoreBand(7 * 24 * h), gatehouse.BandLow},
		{gatehouse.FailureBand(0), gatehouse.BandElite}, {gatehouse.FailureBand(0.15), gatehouse.BandElite},
		{gatehouse.FailureBand(0.16), gatehouse.BandHigh}, {gatehouse.FailureBand(0.30), gatehouse.BandHigh}, {gatehouse.FailureBand(0.31), gatehouse.BandLow},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestParseMetricsQuery(t *testing.T) {
	params := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	q, err := gatehouse.ParseMetricsQuery(params("project", "shop", "since", "2w", "to", "2026-11-30"))
	if err != nil {
		t.Fatal(err)
	}
	q, err = q.Normalize(now)
	if err != nil || !q.From.Equal(time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)) || q.FailureWindow != 24*time.Hour {
		t.Fatalf("since 2w to Nov 30: %+v %v", q, err)
	}
	q, _ = gatehouse.ParseMetricsQuery(params("project", "shop"))
	if q, _ = q.Normalize(now); !q.To.Equal(now) || q.To.Sub(q.From) != 30*24*time.Hour {
		t.Fatalf("default period: %+v", q)
	}
	for _, c := range []struct {
		field string
		in    func(string) string
	}{
		{"project", params()},
		{"since", params("project", "shop", "since", "30x")},
		{"since", params("project", "shop", "since", "-3d")},
		{"since", params("project", "shop", "since", "3d", "from", "2026-11-01")},
		{"from", params("project", "shop", "from", "yesterday")},
		{"failure_window", params("project", "shop", "failure_window", "0")},
	} {
		_, err := gatehouse.ParseMetricsQuery(c.in)
		if e, ok := err.(*gatehouse.Error); !ok || e.Field != c.field {
			t.Errorf("%s: got %v", c.field, err)
		}
	}
	for _, c := range []struct {
		field string
		q     gatehouse.MetricsQuery
	}{
		{"from", gatehouse.MetricsQuery{Project: "shop", From: now, To: now}},
		{"from", gatehouse.MetricsQuery{Project: "shop", From: now.AddDate(-6, 0, 0)}},
		{"app", gatehouse.MetricsQuery{Project: "shop", App: "Not A Name"}},
		{"failure_window", gatehouse.MetricsQuery{Project: "shop", FailureWindow: 40 * 24 * time.Hour}},
	} {
		_, err := c.q.Normalize(now)
		if e, ok := err.(*gatehouse.Error); !ok || e.Field != c.field {
			t.Errorf("%s: got %v", c.field, err)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 45 * time.Second: "45s", 59*time.Second + 600*time.Millisecond: "1m", 12*time.Minute + 5*time.Second: "12m 5s",
		time.Hour: "1h", 3*time.Hour + 20*time.Minute: "3h 20m", 3*time.Hour + 20*time.Minute + 40*time.Second: "3h 21m",
		59*time.Minute + 59*time.Second + 600*time.Millisecond: "1h", 52 * time.Hour: "2d 4h", 23*time.Hour + 59*time.Minute + 40*time.Second: "1d",
		-90 * time.Second: "−1m 30s",
	} {
		if got := gatehouse.FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
