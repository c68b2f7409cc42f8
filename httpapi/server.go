// Package httpapi serves Gatehouse's REST API (/api/v1): authentication by session cookie or
// bearer token, CSRF protection for cookie-authenticated changes, rate-limited logins, strict
// JSON input, and one table from error kinds to status codes. Access decisions are made by the
// services it calls, never here alone.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// Services are the domain services the API calls.
type Services struct {
	Projects     gatehouse.ProjectService
	Clusters     gatehouse.ClusterService
	Environments gatehouse.EnvironmentService
	Apps         gatehouse.AppService
	Pipelines    gatehouse.PipelineService
	Artifacts    gatehouse.ArtifactService
	Deployments  gatehouse.DeploymentService
	Policies     gatehouse.PolicyService
	Approvals    gatehouse.ApprovalService
	Config       gatehouse.ConfigService
	Webhooks     gatehouse.WebhookService
	Users        gatehouse.UserService
	Groups       gatehouse.GroupService
	RoleBindings gatehouse.RoleBindingService
	Identity     gatehouse.IdentityService
	Audit        gatehouse.AuditService
	// Ready reports whether the server can take requests (the database answers).
	Ready func(ctx context.Context) error
}

// Config holds the API's settings.
type Config struct {
	SessionTTL     time.Duration  // browser session lifetime
	SecureCookies  bool           // set the Secure flag on cookies (behind TLS)
	MaxBodyBytes   int64          // request body limit
	LoginFailures  int            // failed logins allowed per user and address per LoginWindow
	LoginWindow    time.Duration  // window of the login limiter
	TrustedProxies []netip.Prefix // peers whose X-Forwarded-For is believed
}

// DefaultConfig is what a server runs with unless told otherwise.
var DefaultConfig = Config{SessionTTL: 12 * time.Hour, MaxBodyBytes: 1 << 20, LoginFailures: 5, LoginWindow: time.Minute}

// Server is the HTTP API.
type Server struct {
	svc     Services
	cfg     Config
	log     *slog.Logger
	limiter *limiter
	mux     *http.ServeMux
}

// New builds the API server. Extra handlers (the web UI, metrics) can be mounted with Handle.
func New(svc Services, cfg Config, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{svc: svc, cfg: cfg, log: log, limiter: newLimiter(cfg.LoginWindow), mux: http.NewServeMux()}
	for _, rt := range s.routes() {
		h := rt.handler
		if !rt.public {
			h = s.requireActor(h)
		}
		s.mux.Handle(rt.pattern, h)
	}
	return s
}

// Handle mounts another handler on the server's mux; it runs behind the same request id,
// logging and authentication middleware (but no actor is required).
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.middleware(s.mux).ServeHTTP(w, r)
}
