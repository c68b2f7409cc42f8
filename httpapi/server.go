// Package httpapi serves Gatehouse's REST API (/api/v1): authentication by session cookie or
// bearer token, CSRF protection for cookie-authenticated changes, rate-limited logins, strict
// JSON input, and one table from error kinds to status codes. Access decisions are made by the
// services it calls, never here alone.
package httpapi

import (
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// Services are the domain services the API calls.
type Services = gatehouse.Services

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
	pages   pageErrors
	mounted []string        // the patterns mounted with Handle and HandleWithoutSession, in order
	ownAuth map[string]bool // the patterns mounted with HandleWithoutSession
	known   map[string]bool // every pattern of the mux: the only routes an observer is told of
	observe RequestObserver // nil: none
}

// RequestObserver hears of every request the server answered. Route is the pattern that
// served it, exactly as mounted ("GET /api/v1/projects/{project}"), or "" when none did (not
// found, method not allowed, a redirect to a cleaned path): never the path itself, so the
// routes it hears of are bounded by those mounted. Method is as the client sent it.
type RequestObserver interface {
	ObserveRequest(route, method string, status int, took time.Duration)
}

// ObserveRequests makes the server tell o of every request it answers; set it before serving.
func (s *Server) ObserveRequests(o RequestObserver) { s.observe = o }

// pageErrors renders the errors of requests under a path prefix (the web UI's pages) in the
// pages' own way instead of as JSON.
type pageErrors struct {
	prefix string
	render func(w http.ResponseWriter, r *http.Request, err error)
}

// RenderErrorsUnder makes the middleware hand errors of requests under prefix (a refused
// session, a missing CSRF token) to render, so pages can answer with HTML or a redirect.
func (s *Server) RenderErrorsUnder(prefix string, render func(w http.ResponseWriter, r *http.Request, err error)) {
	s.pages = pageErrors{prefix: prefix, render: render}
}

// New builds the API server. Extra handlers (the web UI, metrics) can be mounted with Handle.
func New(svc Services, cfg Config, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{svc: svc, cfg: cfg, log: log, limiter: newLimiter(cfg.LoginWindow), mux: http.NewServeMux(), known: map[string]bool{}}
	for _, rt := range s.routes() {
		h := rt.handler
		if !rt.public {
			h = s.requireActor(h)
		}
		s.mux.Handle(rt.pattern, h)
		s.known[rt.pattern] = true
	}
	return s
}

// Handle mounts another handler on the server's mux; it runs behind the same request id,
// logging and authentication middleware (but no actor is required). Mounted lists it.
func (s *Server) Handle(pattern string, h http.Handler) {
	s.mux.Handle(pattern, h)
	s.mounted = append(s.mounted, pattern)
	s.known[pattern] = true
}

// HandleWithoutSession mounts a handler whose requests carry their own credential (approve
// links: the link is the credential, and its form its own CSRF token). It runs behind the
// same request id and logging middleware, but the caller's session cookie or bearer token is
// neither read nor checked, so it serves a browser signed in to Gatehouse, or holding an
// expired session, like any other; it sees no actor. Mounted lists it.
func (s *Server) HandleWithoutSession(pattern string, h http.Handler) {
	s.Handle(pattern, h)
	if s.ownAuth == nil {
		s.ownAuth = map[string]bool{}
	}
	s.ownAuth[pattern] = true
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.middleware(s.mux).ServeHTTP(w, r)
}
