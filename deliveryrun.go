package gatehouse

import (
	"sort"
	"time"
)

// DayCount is the deployments of one UTC day that ended in the period, by how they ended
// (failed: the deployment failed; rolled back: it failed verification and was rolled back
// automatically).
type DayCount struct {
	Day                           time.Time
	Succeeded, Failed, RolledBack int
	// BreakGlass are those of them a person started with break-glass.
	BreakGlass int
}

// ChangeFact is a change that reached the environment: the deployment that first brought its
// digest there successfully, with the moments of its way there. RequestedAt and ApprovedAt
// are the approval request it consumed (zero when none); CommitTime is zero when CI gave none.
type ChangeFact struct {
	CommitTime, PushedAt    time.Time
	RequestedAt, ApprovedAt time.Time
	CreatedAt, StartedAt    time.Time
	FinishedAt              time.Time
	Policies                []string // the policies that judged its request
}

// EndFact is a deployment that ended, with the end of the next deployment of its app to its
// environment that succeeded (zero: none yet).
type EndFact struct {
	ID         int64
	FinishedAt time.Time
	RestoredAt time.Time
}

// UndoFact is a deployment that succeeded and a rollback queued after it to a deployment
// before it, which undid it.
type UndoFact struct {
	EndFact
	RollbackQueued time.Time
}

// VoteFact is one approver's vote on the request of a change counted: the time from the
// request to the vote.
type VoteFact struct {
	Voter string
	Wait  time.Duration
}

// DraftFact is a draft published in the period.
type DraftFact struct {
	Kind        DraftKind
	ProposedAt  time.Time // first proposed
	ApprovedAt  time.Time // last approved
	PublishedAt time.Time
}

// Delivery computes delivery metrics from facts the store aggregates or streams: the day
// counts of the period, its changes, the deployments that failed, and the successes a
// rollback undid; then votes and drafts. It holds the durations it summarises, and the ids
// of the failed changes (so a deployment counts once).
type Delivery struct {
	q      MetricsQuery
	weeks  []weekFacts
	failed map[int64]bool

	succeeded, ended     int
	breakGlass           int
	days                 map[time.Time]bool
	leads, restores      []time.Duration
	noCommit, unrestored int
	stages               map[LeadStage][]time.Duration
	waits, leadSum       time.Duration
	approvalWaits        []time.Duration
	policies             map[string][]time.Duration
	approvers            map[string][]time.Duration
	drafts               map[DraftKind]*draftFacts
}

type weekFacts struct {
	start                      time.Time
	deployments, ended, failed int
	leads, restores            []time.Duration
	changes                    int
	stageSums                  map[LeadStage]time.Duration
}

type draftFacts struct{ review, publish, total []time.Duration }

// NewDelivery starts a computation for a normalized query.
func NewDelivery(q MetricsQuery) *Delivery {
	d := &Delivery{q: q, failed: map[int64]bool{}, days: map[time.Time]bool{}, stages: map[LeadStage][]time.Duration{},
		policies: map[string][]time.Duration{}, approvers: map[string][]time.Duration{}, drafts: map[DraftKind]*draftFacts{}}
	for w := weekStart(q.From); w.Before(q.To); w = w.AddDate(0, 0, 7) {
		d.weeks = append(d.weeks, weekFacts{start: w, stageSums: map[LeadStage]time.Duration{}})
	}
	return d
}

// weekStart is the Monday 00:00 UTC of t's week.
func weekStart(t time.Time) time.Time {
	t = t.UTC().Truncate(day)
	return t.AddDate(0, 0, -((int(t.Weekday()) + 6) % 7))
}

func (d *Delivery) inPeriod(t time.Time) bool { return !t.Before(d.q.From) && t.Before(d.q.To) }

func (d *Delivery) week(t time.Time) *weekFacts {
	i := int(weekStart(t).Sub(d.weeks[0].start) / (7 * day))
	return &d.weeks[i]
}

// AddDay takes the counts of a day of the period.
func (d *Delivery) AddDay(c DayCount) {
	if !c.Day.Before(d.q.To) || !c.Day.Add(day).After(d.q.From) {
		return // the store counts only what ended in the period; a day outside it is none of it
	}
	w := d.week(maxTime(c.Day, d.q.From))
	n := c.Succeeded + c.Failed + c.RolledBack
	d.ended += n
	w.ended += n
	d.succeeded += c.Succeeded
	d.breakGlass += c.BreakGlass
	w.deployments += c.Succeeded
	if c.Succeeded > 0 {
		d.days[c.Day] = true
	}
}

// AddFailure takes a deployment of the period that failed or was rolled back automatically.
func (d *Delivery) AddFailure(f EndFact) { d.failure(f) }

// AddUndo takes a success undone by a rollback: a failed change when the rollback was queued
// within the failure window after it ended.
func (d *Delivery) AddUndo(u UndoFact) {
	if u.RollbackQueued.Sub(u.FinishedAt) <= d.q.FailureWindow {
		d.failure(u.EndFact)
	}
}

// failure counts a failed change once, and its restore.
func (d *Delivery) failure(f EndFact) {
	if !d.inPeriod(f.FinishedAt) || d.failed[f.ID] {
		return
	}
	d.failed[f.ID] = true
	w := d.week(f.FinishedAt)
	w.failed++
	if f.RestoredAt.IsZero() {
		d.unrestored++
		return
	}
	r := f.RestoredAt.Sub(f.FinishedAt)
	d.restores = append(d.restores, r)
	w.restores = append(w.restores, r)
}

// AddLead takes the lead time of a change that reached the environment in the period (from
// its commit, or its push, to its end): what the DORA metrics read of it.
func (d *Delivery) AddLead(f ChangeFact) { d.lead(f) }

// lead counts f's lead time and returns its week (nil outside the period).
func (d *Delivery) lead(f ChangeFact) *weekFacts {
	if !d.inPeriod(f.FinishedAt) {
		return nil
	}
	w := d.week(f.FinishedAt)
	start := f.CommitTime
	if start.IsZero() {
		start = f.PushedAt
		d.noCommit++
	}
	lead := f.FinishedAt.Sub(start)
	d.leads = append(d.leads, lead)
	w.leads = append(w.leads, lead)
	w.changes++
	d.leadSum += lead
	return w
}

// AddChange takes a change that reached the environment in the period with every moment of
// its way there: its lead time and the stages it splits into.
func (d *Delivery) AddChange(f ChangeFact) {
	w := d.lead(f)
	if w == nil {
		return
	}
	stage := func(s LeadStage, from, to time.Time) {
		v := to.Sub(from)
		d.stages[s] = append(d.stages[s], v)
		w.stageSums[s] += v
	}
	if !f.CommitTime.IsZero() {
		stage(LeadPushed, f.CommitTime, f.PushedAt)
	}
	queuedFrom := f.PushedAt
	if !f.RequestedAt.IsZero() {
		stage(LeadRequested, f.PushedAt, f.RequestedAt)
		stage(LeadApproved, f.RequestedAt, f.ApprovedAt)
		wait := f.ApprovedAt.Sub(f.RequestedAt)
		d.waits += wait
		d.approvalWaits = append(d.approvalWaits, wait)
		for _, p := range f.Policies {
			d.policies[p] = append(d.policies[p], wait)
		}
		queuedFrom = f.ApprovedAt
	}
	stage(LeadQueued, queuedFrom, f.CreatedAt)
	stage(LeadStarted, f.CreatedAt, f.StartedAt)
	stage(LeadReady, f.StartedAt, f.FinishedAt)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// AddVote takes a vote on the request of a change counted.
func (d *Delivery) AddVote(v VoteFact) { d.approvers[v.Voter] = append(d.approvers[v.Voter], v.Wait) }

// AddDraft takes a draft published in the period.
func (d *Delivery) AddDraft(f DraftFact) {
	df := d.drafts[f.Kind]
	if df == nil {
		df = &draftFacts{}
		d.drafts[f.Kind] = df
	}
	df.review = append(df.review, f.ApprovedAt.Sub(f.ProposedAt))
	df.publish = append(df.publish, f.PublishedAt.Sub(f.ApprovedAt))
	df.total = append(df.total, f.PublishedAt.Sub(f.ProposedAt))
}

// DORA returns the four metrics, rated, and their weekly trend.
func (d *Delivery) DORA(envs []string) *DORAReport {
	days := d.q.To.Sub(d.q.From).Hours() / 24
	r := &DORAReport{Query: d.q, Environments: envs, Window: d.q.FailureWindow.Seconds(), Weeks: []DORAWeek{}}
	r.Frequency = FrequencyFigure{Deployments: d.succeeded, Days: days, PerDay: float64(d.succeeded) / days, ActiveDays: len(d.days), BreakGlass: d.breakGlass}
	r.LeadTime = LeadTimeFigure{Stat: Summarize(d.leads), WithoutCommitTime: d.noCommit}
	r.Failures = FailureFigure{Ended: d.ended, Failed: len(d.failed), Rate: ratio(len(d.failed), d.ended)}
	r.Restore = RestoreFigure{Stat: Summarize(d.restores), Unrestored: d.unrestored}
	if d.succeeded > 0 {
		r.Frequency.Band = FrequencyBand(r.Frequency.PerDay)
	}
	if r.LeadTime.Stat.Count > 0 {
		r.LeadTime.Band = LeadTimeBand(r.LeadTime.Stat.Median)
	}
	if d.ended > 0 {
		r.Failures.Band = FailureBand(r.Failures.Rate)
	}
	if r.Restore.Stat.Count > 0 {
		r.Restore.Band = RestoreBand(r.Restore.Stat.Median)
	}
	if d.noCommit > 0 {
		r.Notes = append(r.Notes, "lead time of changes pushed without a commit time starts at the push")
	}
	for _, w := range d.weeks {
		r.Weeks = append(r.Weeks, DORAWeek{Start: w.start, Deployments: w.deployments, Ended: w.ended, Failed: w.failed,
			FailureRate: ratio(w.failed, w.ended), LeadTime: Summarize(w.leads), Restore: Summarize(w.restores)})
	}
	return r
}

// LeadTime returns the breakdown of lead time.
func (d *Delivery) LeadTime(envs []string) *LeadTimeReport {
	r := &LeadTimeReport{Query: d.q, Environments: envs, Changes: len(d.leads), WithoutCommitTime: d.noCommit,
		LeadTime: Summarize(d.leads), ApprovalWait: Summarize(d.approvalWaits),
		Policies: []WaitFigure{}, Approvers: []ApproverFigure{}, Drafts: []DraftFigure{}, Weeks: []LeadTimeWeek{}}
	if d.leadSum > 0 {
		r.ApprovalShare = float64(d.waits) / float64(d.leadSum)
	}
	for _, s := range LeadStages {
		r.Stages = append(r.Stages, StageFigure{Stage: s, Label: LeadStageLabels[s], Stat: Summarize(d.stages[s])})
	}
	for _, p := range sortedKeys(d.policies) {
		r.Policies = append(r.Policies, WaitFigure{Policy: p, Wait: Summarize(d.policies[p])})
	}
	for _, a := range sortedKeys(d.approvers) {
		r.Approvers = append(r.Approvers, ApproverFigure{Approver: a, Votes: len(d.approvers[a]), Wait: Summarize(d.approvers[a])})
	}
	for _, k := range sortedKeys(d.drafts) {
		f := d.drafts[k]
		r.Drafts = append(r.Drafts, DraftFigure{Kind: k, Published: len(f.total), Review: Summarize(f.review), Publish: Summarize(f.publish), Total: Summarize(f.total)})
	}
	for _, w := range d.weeks {
		lw := LeadTimeWeek{Start: w.start, Changes: w.changes, Seconds: make([]float64, len(LeadStages))}
		for i, s := range LeadStages {
			if w.changes > 0 {
				lw.Seconds[i] = w.stageSums[s].Seconds() / float64(w.changes)
			}
		}
		r.Weeks = append(r.Weeks, lw)
	}
	return r
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func sortedKeys[K ~string, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
