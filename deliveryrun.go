package gatehouse

import (
	"slices"
	"sort"
	"time"
)

// DeploymentFact is what delivery metrics read of one deployment that ended.
type DeploymentFact struct {
	ID          int64
	App         string
	Environment string
	Kind        DeploymentKind
	State       DeploymentState
	RollbackOf  int64
	// FirstOfDigest is set on the first deployment of its digest to its environment that
	// succeeded: the one that brought the change there.
	FirstOfDigest bool
	CreatedAt     time.Time
	StartedAt     time.Time
	FinishedAt    time.Time
	CommitTime    time.Time // zero when CI gave none
	PushedAt      time.Time
	// RequestedAt and ApprovedAt are the approval request the deployment consumed; zero
	// when it consumed none.
	RequestedAt time.Time
	ApprovedAt  time.Time
	Policies    []string // the policies that judged its request
}

// RollbackFact is a rollback deployment, whatever its outcome: it undoes the deployments of
// its app to its environment after the one it restores (RollbackOf).
type RollbackFact struct {
	ID          int64
	App         string
	Environment string
	RollbackOf  int64
	CreatedAt   time.Time
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

// Failure is a failed change whose restoring deployment is not among the facts given: the
// store finds the next success of App to Environment after ID and passes it to Restore.
type Failure struct {
	ID          int64
	App         string
	Environment string
	FinishedAt  time.Time
}

// Delivery computes delivery metrics in one pass over facts. Give it the rollbacks queued in
// the period and its failure window, then the deployments that ended from the period's start
// to its end plus the failure window, each release's (app and environment) in the order they
// ended; then the failures left pending, votes and drafts; then read DORA and LeadTime. It
// keeps, per release, only the failures waiting for their restore, and the durations it
// summarises.
type Delivery struct {
	q         MetricsQuery
	rollbacks map[release][]RollbackFact
	waiting   map[release][]Failure
	weeks     []weekFacts

	succeeded, ended, failed int
	days                     map[string]bool
	leads, restores          []time.Duration
	noCommit                 int
	stages                   map[LeadStage][]time.Duration
	waits, leadSum           time.Duration
	approvalWaits            []time.Duration
	policies                 map[string][]time.Duration
	approvers                map[string][]time.Duration
	drafts                   map[DraftKind]*draftFacts
}

type release struct{ app, env string }

type weekFacts struct {
	start                      time.Time
	deployments, ended, failed int
	leads, restores            []time.Duration
	changes                    int
	stageSums                  map[LeadStage]time.Duration
}

type draftFacts struct{ review, publish, total []time.Duration }

// NewDelivery starts a computation for a normalized query.
func NewDelivery(q MetricsQuery, rollbacks []RollbackFact) *Delivery {
	d := &Delivery{q: q, rollbacks: map[release][]RollbackFact{}, waiting: map[release][]Failure{}, days: map[string]bool{}, stages: map[LeadStage][]time.Duration{},
		policies: map[string][]time.Duration{}, approvers: map[string][]time.Duration{}, drafts: map[DraftKind]*draftFacts{}}
	for _, r := range rollbacks {
		k := release{r.App, r.Environment}
		d.rollbacks[k] = append(d.rollbacks[k], r)
	}
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

// Add takes the next deployment.
func (d *Delivery) Add(f DeploymentFact) {
	k := release{f.App, f.Environment}
	failed := d.failedChange(f)
	if f.State == StateSucceeded {
		for _, w := range d.waiting[k] {
			d.restored(w.FinishedAt, f.FinishedAt)
		}
		delete(d.waiting, k)
	}
	if !d.inPeriod(f.FinishedAt) {
		return
	}
	w := d.week(f.FinishedAt)
	d.ended++
	w.ended++
	if f.State == StateSucceeded {
		d.succeeded++
		w.deployments++
		d.days[f.FinishedAt.Format(time.DateOnly)] = true
		if f.FirstOfDigest {
			d.change(f, w)
		}
	}
	if failed {
		d.failed++
		w.failed++
		d.waiting[k] = append(d.waiting[k], Failure{ID: f.ID, App: f.App, Environment: f.Environment, FinishedAt: f.FinishedAt})
	}
}

// undone reports whether a rollback queued within the failure window after f ended undid f.
func (d *Delivery) undone(f DeploymentFact) bool {
	return slices.ContainsFunc(d.rollbacks[release{f.App, f.Environment}], func(r RollbackFact) bool {
		return r.RollbackOf < f.ID && f.ID < r.ID && r.CreatedAt.Sub(f.FinishedAt) <= d.q.FailureWindow
	})
}

// failedChange reports whether f is a failed change: it failed, was rolled back
// automatically, or was undone by a rollback within the failure window.
func (d *Delivery) failedChange(f DeploymentFact) bool {
	return f.State == StateFailed || f.State == StateRolledBack || (f.State == StateSucceeded && d.undone(f))
}

func (d *Delivery) restored(failed, at time.Time) {
	r := at.Sub(failed)
	d.restores = append(d.restores, r)
	w := d.week(failed)
	w.restores = append(w.restores, r)
}

// change counts f as a change that reached the environment: its lead time and stages.
func (d *Delivery) change(f DeploymentFact, w *weekFacts) {
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

// Pending returns the failed changes whose restoring deployment was not among the facts, in
// order of release.
func (d *Delivery) Pending() []Failure {
	var out []Failure
	for _, k := range sortedReleases(d.waiting) {
		out = append(out, d.waiting[k]...)
	}
	return out
}

// Restore records the end of the deployment that restored a pending failure.
func (d *Delivery) Restore(f Failure, at time.Time) {
	k := release{f.App, f.Environment}
	d.waiting[k] = slices.DeleteFunc(d.waiting[k], func(p Failure) bool { return p.ID == f.ID })
	if len(d.waiting[k]) == 0 {
		delete(d.waiting, k)
	}
	d.restored(f.FinishedAt, at)
}

func sortedReleases(m map[release][]Failure) []release {
	out := make([]release, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].app < out[j].app || (out[i].app == out[j].app && out[i].env < out[j].env) })
	return out
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
	r.Frequency = FrequencyFigure{Deployments: d.succeeded, Days: days, PerDay: float64(d.succeeded) / days, ActiveDays: len(d.days)}
	r.LeadTime = LeadTimeFigure{Stat: Summarize(d.leads), WithoutCommitTime: d.noCommit}
	r.Failures = FailureFigure{Ended: d.ended, Failed: d.failed, Rate: ratio(d.failed, d.ended)}
	r.Restore = RestoreFigure{Stat: Summarize(d.restores), Unrestored: len(d.Pending())}
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
