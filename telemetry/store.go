package telemetry

import (
	"context"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river/rivertype"
)

// sample is one value of a family read from the store, with its label values.
type sample struct {
	value  float64
	labels []string
}

// storeFamily is a metric family read from the store at scrape time, with one query under
// the scrape timeout. A query that fails yields an invalid metric (the scrape reports the
// error) instead of stale or partial numbers.
type storeFamily struct {
	desc    *prometheus.Desc
	kind    prometheus.ValueType
	read    func(ctx context.Context) ([]sample, error)
	timeout time.Duration
}

// Describe implements prometheus.Collector.
func (f *storeFamily) Describe(ch chan<- *prometheus.Desc) { ch <- f.desc }

// Collect implements prometheus.Collector.
func (f *storeFamily) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	samples, err := f.read(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(f.desc, err)
		return
	}
	for _, s := range samples {
		m, err := prometheus.NewConstMetric(f.desc, f.kind, s.value, s.labels...)
		if err != nil {
			m = prometheus.NewInvalidMetric(f.desc, err)
		}
		ch <- m
	}
}

// family builds a store family of the name and labels.
func (m *Metrics) family(name, help string, kind prometheus.ValueType, labels []string, read func(ctx context.Context) ([]sample, error)) *storeFamily {
	return &storeFamily{desc: prometheus.NewDesc(name, help, labels, nil), kind: kind, read: read, timeout: m.opt.Timeout}
}

// byState turns counts by state into samples labelled by state, in the order of the states.
func byState[S ~string](counts map[S]int64, err error) ([]sample, error) {
	if err != nil {
		return nil, err
	}
	out := make([]sample, 0, len(counts))
	for s, n := range counts {
		out = append(out, sample{value: float64(n), labels: []string{string(s)}})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].labels[0] < out[j].labels[0] })
	return out, nil
}

// storeCollectors are the families every server reads from its store.
func (m *Metrics) storeCollectors() []prometheus.Collector {
	return []prometheus.Collector{
		m.family("gatehouse_deployments", "Deployments in the database, by project, environment and state.",
			prometheus.GaugeValue, []string{"project", "environment", "state"}, func(ctx context.Context) ([]sample, error) {
				counts, err := m.db.CountDeployments(ctx)
				if err != nil {
					return nil, err
				}
				out := make([]sample, 0, len(counts))
				for _, c := range counts {
					out = append(out, sample{value: float64(c.N), labels: []string{c.Project, c.Environment, string(c.State)}})
				}
				return out, nil
			}),
		m.family("gatehouse_approval_requests_open", "Approval requests still open, by state (pending, approved).",
			prometheus.GaugeValue, []string{"state"}, func(ctx context.Context) ([]sample, error) {
				return byState(m.db.CountOpenApprovals(ctx))
			}),
		m.family("gatehouse_drafts_open", "Drafts of every kind still open, by state (draft, proposed, approved).",
			prometheus.GaugeValue, []string{"state"}, func(ctx context.Context) ([]sample, error) {
				return byState(m.db.CountOpenDrafts(ctx))
			}),
		m.family("gatehouse_audit_events_total", "Events in the audit chain, as the database holds it (the same on every server).",
			prometheus.CounterValue, nil, func(ctx context.Context) ([]sample, error) {
				n, err := m.db.AuditLength(ctx)
				if err != nil {
					return nil, err
				}
				return []sample{{value: float64(n)}}, nil
			}),
	}
}

// jobsCollector reads River's jobs by state; every state River has is present.
func (m *Metrics) jobsCollector() prometheus.Collector {
	var states []string
	for _, s := range rivertype.JobStates() {
		states = append(states, string(s))
	}
	return m.family("gatehouse_river_jobs", "Jobs in the job queue (River), by state.",
		prometheus.GaugeValue, []string{"state"}, func(ctx context.Context) ([]sample, error) {
			return byState(m.db.CountJobs(ctx, states...))
		})
}
