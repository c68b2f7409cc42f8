// Package wire connects the store's services to the API and the deploy workers. The server command and the tests that
// start real servers share it, so they run the same wiring.
package wire

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/httpapi"
	"github.com/gatehousehq/gatehouse/kube"
	"github.com/gatehousehq/gatehouse/notify"
	"github.com/gatehousehq/gatehouse/sqlstore"
	"github.com/gatehousehq/gatehouse/telemetry"
	"github.com/gatehousehq/gatehouse/ui"
	"github.com/gatehousehq/gatehouse/worker"
)

// Services returns the API's services, all backed by db, which checks values against charts'
// schemas.
func Services(db *sqlstore.DB) httpapi.Services {
	db.SetValuesValidator(kube.ValidateValues)
	return httpapi.Services{
		Projects: sqlstore.NewProjectService(db), Clusters: sqlstore.NewClusterService(db), Environments: sqlstore.NewEnvironmentService(db),
		Apps: sqlstore.NewAppService(db), Pipelines: sqlstore.NewPipelineService(db), Artifacts: sqlstore.NewArtifactService(db),
		Deployments: sqlstore.NewDeploymentService(db),
		Policies:    sqlstore.NewPolicyService(db), Windows: sqlstore.NewWindowService(db), Reviews: sqlstore.NewReviewService(db), Approvals: sqlstore.NewApprovalService(db), Config: sqlstore.NewConfigService(db),
		Drafts:   sqlstore.NewDraftService(db),
		Webhooks: sqlstore.NewWebhookService(db),
		Users:    sqlstore.NewUserService(db), Groups: sqlstore.NewGroupService(db), RoleBindings: sqlstore.NewRoleBindingService(db),
		Identity: sqlstore.NewIdentityService(db), Audit: sqlstore.NewAuditService(db),
		Metrics: sqlstore.NewMetricsService(db), Attestations: sqlstore.NewAttestationService(db), Ready: db.Ping,
	}
}

// WorkerOptions configure the deploy workers.
type WorkerOptions struct {
	DataDir      string // Helm repository and registry settings for charts live under DATA-DIR/charts
	Workers      int
	Lease        time.Duration
	PollInterval time.Duration
	PlainHTTP    bool // OCI chart registries over plain HTTP (loopback registries in tests)
	Logger       *slog.Logger
	Mailer       notify.Mailer      // nil: no e-mail
	ExternalURL  string             // for links in notifications
	Metrics      *telemetry.Metrics // observes ended deployments and counts the job queue; nil: none
}

// Worker builds the deploy workers over db's clusters and connects db's deployments to them;
// db pins charts with the same chart loader the workers deploy with, and identifies clusters
// as the workers do.
func Worker(ctx context.Context, db *sqlstore.DB, o WorkerOptions) (*worker.Runner, error) {
	charts := &kube.Charts{CacheDir: filepath.Join(o.DataDir, "charts"), PlainHTTP: o.PlainHTTP}
	db.SetChartPinner(charts.Pin)
	db.SetClusterIdentifier(kube.Identify)
	r, err := worker.New(ctx, worker.Options{
		Store:    db,
		Clusters: kube.NewClusters(db.Kubeconfig),
		Charts:   charts,
		Lease:    o.Lease, Workers: o.Workers, PollInterval: o.PollInterval, Logger: o.Logger,
		Mailer: o.Mailer, ExternalURL: o.ExternalURL, Observer: observer(o.Metrics),
	})
	if err != nil {
		return nil, err
	}
	db.SetQueue(r)
	if o.Metrics != nil {
		o.Metrics.WatchJobs() // worker.New migrated River's tables
	}
	return r, nil
}

// observer is m as the workers' observer: none when m is nil (not a nil *Metrics in an interface).
func observer(m *telemetry.Metrics) worker.Observer {
	if m == nil {
		return nil
	}
	return m
}

// Metrics builds a server's metrics over db, and makes db report approval waits to them.
func Metrics(db *sqlstore.DB, log *slog.Logger) *telemetry.Metrics {
	m := telemetry.New(db, telemetry.Options{Logger: log})
	db.SetObserver(m)
	return m
}

// MetricsPath is where the metrics are served.
const MetricsPath = "/metrics"

// ServeMetrics makes s count its requests in m and, when token is set, serve m at GET
// /metrics to requests that present it as a bearer token (and to no one else: not to a
// session, nor to an API token). The route carries its own credential, so the API's
// authentication never sees that header. With no token, /metrics is not mounted on s.
func ServeMetrics(s *httpapi.Server, m *telemetry.Metrics, token gatehouse.Secret) {
	s.ObserveRequests(m)
	if token.Reveal() != "" {
		s.HandleWithoutSession("GET "+MetricsPath, telemetry.RequireToken(token, m.Handler()))
	}
}

// API builds the HTTP server: the REST API with the pages mounted beside it, and sign-in
// through signOn beside passwords unless it is nil.
func API(db *sqlstore.DB, cfg httpapi.Config, log *slog.Logger, signOn ui.SingleSignOn) *httpapi.Server {
	s := httpapi.New(Services(db), cfg, log)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pages := ui.New(Services(db), s, httpapi.SessionOf, cfg.SecureCookies, log)
	if signOn != nil {
		pages.WithSSO(signOn)
	}
	for _, rt := range pages.Routes() {
		s.Handle(rt.Pattern, rt.Handler)
	}
	s.RenderErrorsUnder("/ui/", pages.Error)
	link := ui.ApproveLink(sqlstore.NewLinkService(db), cfg.SecureCookies, log)
	s.HandleWithoutSession("GET /approve/{token}", link)
	s.HandleWithoutSession("POST /approve/{token}", link)
	return s
}
