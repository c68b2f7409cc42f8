// Package telemetry exposes Gatehouse's Prometheus metrics: requests by route, deployments and
// approval requests as the database holds them, and how long deployments, their steps and
// approvals took. Every label value is drawn from a bounded set — route patterns, a fixed list
// of methods, status codes, states, and the names of configured projects and environments —
// never from paths, digests, user names or ids, so no request can grow the series.
//
// Each Metrics has its own registry (not Prometheus's global one), so many servers can run in
// one process.
package telemetry

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// Unmatched is the route of requests no mounted pattern served.
const Unmatched = "unmatched"

// Buckets of the histograms, in seconds.
var (
	// DeployBuckets suit a deployment or one of its steps: seconds to half an hour.
	DeployBuckets = []float64{1, 2.5, 5, 10, 30, 60, 120, 300, 600, 900, 1200, 1800}
	// WaitBuckets suit waiting for people: a minute to a week.
	WaitBuckets = []float64{60, 300, 900, 1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600, 24 * 3600, 3 * 24 * 3600, 7 * 24 * 3600}
)

// Options configure Metrics.
type Options struct {
	// Timeout bounds each query of a scrape. Default 2s.
	Timeout time.Duration
	// Logger receives scrape errors; nil discards them.
	Logger *slog.Logger
}

// Metrics are one server's metrics. They implement httpapi.RequestObserver,
// sqlstore.Observer and worker.Observer, and are safe for concurrent use.
type Metrics struct {
	db           *sqlstore.DB
	opt          Options
	reg          *prometheus.Registry
	handler      http.Handler
	requests     *prometheus.CounterVec
	requestTime  *prometheus.HistogramVec
	deployTime   *prometheus.HistogramVec
	stepTime     *prometheus.HistogramVec
	approvalWait *prometheus.HistogramVec
	watchJobs    sync.Once
}

// New builds the metrics of a server over db: the collectors that read db at scrape time
// (River's jobs only once WatchJobs is called), the histograms the server's parts observe, and
// the Go runtime's and the process's own metrics.
func New(db *sqlstore.DB, o Options) *Metrics {
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{db: db, opt: o, reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_http_requests_total",
		Help: "HTTP requests answered, by the route pattern that served them (\"unmatched\" when none did), method and status."},
		[]string{"route", "method", "status"})
	m.requestTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gatehouse_http_request_duration_seconds",
		Help: "Time to answer an HTTP request, by route pattern and method.", Buckets: prometheus.DefBuckets},
		[]string{"route", "method"})
	m.deployTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gatehouse_deployment_duration_seconds",
		Help: "Time from a deployment's start to its end, by environment and outcome (succeeded, failed, rolled-back).", Buckets: DeployBuckets},
		[]string{"environment", "outcome"})
	m.stepTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gatehouse_deployment_step_duration_seconds",
		Help: "Time a deployment spent in a step (pre-deploy, applying, verifying, post-deploy) that had work to do.", Buckets: DeployBuckets},
		[]string{"step"})
	m.approvalWait = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gatehouse_approval_wait_seconds",
		Help: "Time from an approval request's creation to its approval, by environment.", Buckets: WaitBuckets},
		[]string{"environment"})
	m.reg.MustRegister(m.requests, m.requestTime, m.deployTime, m.stepTime, m.approvalWait,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.reg.MustRegister(m.storeCollectors()...)
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		// A store that does not answer leaves its families out (and counts in
		// promhttp_metric_handler_errors_total); the rest are still served.
		ErrorHandling: promhttp.ContinueOnError, ErrorLog: errorLog{o.Logger}, Registry: m.reg})
	return m
}

// WatchJobs adds the job queue's gauge, gatehouse_river_jobs, once however often it is
// called; call it once River's tables exist (the workers migrated them).
func (m *Metrics) WatchJobs() { m.watchJobs.Do(func() { m.reg.MustRegister(m.jobsCollector()) }) }

// Handler serves the metrics in Prometheus's exposition formats, to anyone who reaches it:
// mount it behind RequireToken, or on a listener of its own.
func (m *Metrics) Handler() http.Handler { return m.handler }

// methods are the methods counted by name; any other is counted as "other".
var methods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}

// ObserveRequest implements httpapi.RequestObserver: it counts the request and its time under
// its route pattern ("unmatched" for ""), its method when it is a standard one ("other"
// otherwise) and its status.
func (m *Metrics) ObserveRequest(route, method string, status int, took time.Duration) {
	if route == "" {
		route = Unmatched
	}
	if !slices.Contains(methods, method) {
		method = "other"
	}
	code := "other"
	if status >= 100 && status <= 599 {
		code = strconv.Itoa(status)
	}
	m.requests.WithLabelValues(route, method, code).Inc()
	m.requestTime.WithLabelValues(route, method).Observe(took.Seconds())
}

// ApprovalApproved implements sqlstore.Observer.
func (m *Metrics) ApprovalApproved(env string, wait time.Duration) {
	m.approvalWait.WithLabelValues(env).Observe(max(wait, 0).Seconds())
}

// DeploymentEnded implements worker.Observer: it observes the deployment's time from start to
// end under its environment and outcome, and the time of each step that had work to do, from
// the deployment's events. A deployment that has not ended, or never started, is ignored.
func (m *Metrics) DeploymentEnded(d *gatehouse.Deployment) {
	if !d.State.Terminal() || d.StartedAt == nil || d.FinishedAt == nil {
		return
	}
	m.deployTime.WithLabelValues(d.Environment, string(d.State)).Observe(d.Duration(time.Time{}).Seconds())
	for _, s := range StepTimes(d) {
		m.stepTime.WithLabelValues(string(s.Step)).Observe(s.Took.Seconds())
	}
}

// StepTime is how long a deployment spent in one step.
type StepTime struct {
	Step gatehouse.DeploymentState
	Took time.Duration
}

// steps are the deployment states that are steps of the work.
var steps = []gatehouse.DeploymentState{gatehouse.StatePreDeploy, gatehouse.StateApplying, gatehouse.StateVerifying, gatehouse.StatePostDeploy}

// StepTimes reads a deployment's steps from its events, in order: a step starts with the first
// event of its state and ends with the first event of another state. A step entered and left
// in the same commit (one with nothing to do: no pre- or post-deploy Jobs) is left out, as is
// a step that has not ended.
func StepTimes(d *gatehouse.Deployment) []StepTime {
	var out []StepTime
	var cur gatehouse.DeploymentState
	var since time.Time
	for _, e := range d.Events {
		st := gatehouse.DeploymentState(e.Step)
		if st == cur || (!slices.Contains(steps, st) && !st.Terminal()) {
			continue // a progress line of the current step
		}
		if slices.Contains(steps, cur) && e.Time.After(since) {
			out = append(out, StepTime{Step: cur, Took: e.Time.Sub(since)})
		}
		cur, since = st, e.Time
	}
	return out
}

// errorLog hands promhttp's errors to a logger.
type errorLog struct{ log *slog.Logger }

func (l errorLog) Println(v ...any) { l.log.Warn("metrics scrape", "err", fmt.Sprint(v...)) }
