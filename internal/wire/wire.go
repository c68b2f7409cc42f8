// Package wire connects the store's services to the API and the deploy workers. The server command and the tests that
// start real servers share it, so they run the same wiring.
package wire

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/gatehousehq/gatehouse/httpapi"
	"github.com/gatehousehq/gatehouse/kube"
	"github.com/gatehousehq/gatehouse/notify"
	"github.com/gatehousehq/gatehouse/sqlstore"
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
		Policies:    sqlstore.NewPolicyService(db), Approvals: sqlstore.NewApprovalService(db), Config: sqlstore.NewConfigService(db),
		Drafts:   sqlstore.NewDraftService(db),
		Webhooks: sqlstore.NewWebhookService(db),
		Users:    sqlstore.NewUserService(db), Groups: sqlstore.NewGroupService(db), RoleBindings: sqlstore.NewRoleBindingService(db),
		Identity: sqlstore.NewIdentityService(db), Audit: sqlstore.NewAuditService(db),
		Metrics: sqlstore.NewMetricsService(db), Ready: db.Ping,
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
	Mailer       notify.Mailer // nil: no e-mail
	ExternalURL  string        // for links in notifications
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
		Mailer: o.Mailer, ExternalURL: o.ExternalURL,
	})
	if err != nil {
		return nil, err
	}
	db.SetQueue(r)
	return r, nil
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
