package gatehouse

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MetricsQuery is the scope and period of delivery metrics: a project, optionally one app,
// optionally one environment (by default every environment of the project marked production),
// and the period [From, To), all in UTC.
type MetricsQuery struct {
	Project     string    `json:"project"`
	App         string    `json:"app,omitempty"`
	Environment string    `json:"environment,omitempty"`
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	// Since, when From is zero, sets From to To minus Since.
	Since time.Duration `json:"-"`
	// FailureWindow is how soon after a deployment ended a rollback undoing it makes it a
	// failed change. Default 24h.
	FailureWindow time.Duration `json:"-"`
}

// DefaultMetricsPeriod is the period of delivery metrics unless one is asked for.
const DefaultMetricsPeriod = 30 * 24 * time.Hour

// DefaultFailureWindow is the failure window unless one is asked for.
const DefaultFailureWindow = 24 * time.Hour

// maxMetricsPeriod bounds a period so a query stays a query.
const maxMetricsPeriod = 5 * 366 * 24 * time.Hour

// Normalize fills in the defaults (the last 30 days up to now, a 24h failure window), moves
// the times to UTC and checks the query, naming the field at fault.
func (q MetricsQuery) Normalize(now time.Time) (MetricsQuery, error) {
	if err := ValidateName("project", q.Project); err != nil {
		return q, err
	}
	if q.App != "" {
		if err := ValidateName("app", q.App); err != nil {
			return q, err
		}
	}
	if q.Environment != "" {
		if err := ValidateName("environment", q.Environment); err != nil {
			return q, err
		}
	}
	if q.To.IsZero() {
		q.To = now
	}
	if q.From.IsZero() && q.Since > 0 {
		q.From = q.To.Add(-q.Since)
	} else if q.From.IsZero() {
		q.From = q.To.Add(-DefaultMetricsPeriod)
	}
	q.Since = 0
	q.From, q.To = q.From.UTC().Truncate(time.Second), q.To.UTC().Truncate(time.Second)
	switch {
	case !q.From.Before(q.To):
		return q, Invalidf("from", "%s is not before to (%s): expected a period that starts before it ends", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
	case q.To.Sub(q.From) > maxMetricsPeriod:
		return q, Invalidf("from", "the period is longer than 5 years: expected a shorter one")
	}
	if q.FailureWindow == 0 {
		q.FailureWindow = DefaultFailureWindow
	}
	if q.FailureWindow < 0 || q.FailureWindow > 30*24*time.Hour {
		return q, Invalidf("failure_window", "%s is out of range: expected a duration from 1s to 30d", q.FailureWindow)
	}
	return q, nil
}

// ParseSince reads a period length such as "30d", "12h", "2w" or any Go duration ("90m").
func ParseSince(field, s string) (time.Duration, error) {
	bad := Invalidf(field, "%q is not a period: expected a positive number of days (30d), weeks (2w) or a duration (12h)", s)
	units := map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour}
	for suffix, unit := range units {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.Atoi(n)
			if err != nil || v <= 0 || v > 5*366 {
				return 0, bad
			}
			return time.Duration(v) * unit, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, bad
	}
	return d, nil
}

// MetricsService computes delivery metrics. Errors: invalid input; not found for a project,
// app or environment the caller does not see. What is counted is what the caller sees.
type MetricsService interface {
	// DORA computes the four DORA metrics of the scope over the period.
	DORA(ctx context.Context, q MetricsQuery) (*DORAReport, error)
	// LeadTime splits the lead time of the changes that reached the scope in the period into
	// stages, with the approval wait per policy and per approver, and the drafts published.
	LeadTime(ctx context.Context, q MetricsQuery) (*LeadTimeReport, error)
}

// Stat summarises durations: how many, their median and 90th percentile (linear
// interpolation between closest ranks), and their mean.
type Stat struct {
	Count  int
	Median time.Duration
	P90    time.Duration
	Mean   time.Duration
}

type statJSON struct {
	Count  int     `json:"count"`
	Median float64 `json:"median_seconds"`
	P90    float64 `json:"p90_seconds"`
	Mean   float64 `json:"mean_seconds"`
}

// MarshalJSON renders durations as seconds.
func (s Stat) MarshalJSON() ([]byte, error) {
	return json.Marshal(statJSON{s.Count, s.Median.Seconds(), s.P90.Seconds(), s.Mean.Seconds()})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *Stat) UnmarshalJSON(b []byte) error {
	var j statJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	sec := func(f float64) time.Duration { return time.Duration(math.Round(f * float64(time.Second))) }
	*s = Stat{Count: j.Count, Median: sec(j.Median), P90: sec(j.P90), Mean: sec(j.Mean)}
	return nil
}

// Summarize computes the Stat of ds (which it sorts).
func Summarize(ds []time.Duration) Stat {
	if len(ds) == 0 {
		return Stat{}
	}
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return Stat{Count: len(ds), Median: percentile(ds, 0.5), P90: percentile(ds, 0.9), Mean: sum / time.Duration(len(ds))}
}

// percentile of sorted ds: the value at rank (n-1)p, interpolated between its neighbours.
func percentile(ds []time.Duration, p float64) time.Duration {
	h := float64(len(ds)-1) * p
	lo := int(math.Floor(h))
	if lo+1 >= len(ds) {
		return ds[lo]
	}
	return ds[lo] + time.Duration(math.Round((h-float64(lo))*float64(ds[lo+1]-ds[lo])))
}

// ParseMetricsQuery reads a query from named parameters (get returns "" for a missing one):
// project, app, environment, since (a period ending now or at to: 30d, 2w, 12h), from and
// to (RFC 3339 or a date, 2026-11-01), and failure_window (a period). since and from
// exclude each other. It checks each parameter's form; Normalize fills in the defaults and
// checks them together.
func ParseMetricsQuery(get func(string) string) (MetricsQuery, error) {
	q := MetricsQuery{Project: get("project"), App: get("app"), Environment: get("environment")}
	if q.Project == "" {
		return q, Invalidf("project", "missing: expected the project's name")
	}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		v := get(t.name)
		if v == "" {
			continue
		}
		parsed, err := time.Parse(time.RFC3339, v)
		if err != nil {
			parsed, err = time.Parse(time.DateOnly, v)
		}
		if err != nil {
			return q, Invalidf(t.name, "%q is not a time: expected RFC 3339 (2026-11-27T10:00:00Z) or a date (2026-11-27)", v)
		}
		*t.dst = parsed
	}
	if v := get("since"); v != "" {
		if !q.From.IsZero() {
			return q, Invalidf("since", "given with from: expected one of them")
		}
		d, err := ParseSince("since", v)
		if err != nil {
			return q, err
		}
		q.Since = d
	}
	if v := get("failure_window"); v != "" {
		d, err := ParseSince("failure_window", v)
		if err != nil {
			return q, err
		}
		q.FailureWindow = d
	}
	return q, nil
}

// FormatDuration writes a duration for people in its two largest units, rounded to the
// smaller: "45s", "12m 5s", "3h 20m", "2d 4h".
func FormatDuration(d time.Duration) string {
	if d < 0 {
		return "−" + FormatDuration(-d)
	}
	units := []struct {
		size time.Duration
		name string
	}{{day, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}}
	for i, u := range units[:len(units)-1] {
		small := units[i+1]
		r := d.Round(small.size) // rounded first, so 59m59.6s is 1h, not 60m
		if r < u.size {
			continue
		}
		big, rest := r/u.size, (r%u.size)/small.size
		if rest == 0 {
			return fmt.Sprintf("%d%s", big, u.name)
		}
		return fmt.Sprintf("%d%s %d%s", big, u.name, rest, small.name)
	}
	return fmt.Sprintf("%ds", d.Round(time.Second)/time.Second)
}
