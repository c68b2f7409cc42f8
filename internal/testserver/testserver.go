// Package testserver starts a real Gatehouse API server for tests and benchmarks: a real store
// on the chosen engine behind the real HTTP stack on a loopback port, with a bootstrapped
// super-admin and helpers to make people with roles.
package testserver

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/client"
	"github.com/gatehousehq/gatehouse/httpapi"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/wire"
	"github.com/gatehousehq/gatehouse/sqlstore"
	"github.com/gatehousehq/gatehouse/telemetry"
	"github.com/gatehousehq/gatehouse/ui"
)

// Password is every test user's password.
const Password = "correct horse battery"

// MetricsToken is the bearer token of every test server's GET /metrics (as with
// --metrics-token-file).
const MetricsToken = "metrics-token-of-the-test-servers"

// Server is a running API server.
type Server struct {
	URL string
	DB  *sqlstore.DB
	API *httpapi.Server
	// Metrics are the server's, served at /metrics to bearers of MetricsToken.
	Metrics *telemetry.Metrics
	Admin   *client.Client // the super-admin, by token
	Log     *LogBuffer     // every line the server and its workers logged, at debug level
	tb      testing.TB
	ahead   atomic.Int64 // how far the store's clock runs ahead of real time, in nanoseconds
}

// Advance moves the store's clock forward by d (sessions and tokens expire, time passes for
// the audit trail), instead of waiting.
func (s *Server) Advance(d time.Duration) { s.ahead.Add(int64(d)) }

func (s *Server) now() time.Time { return time.Now().Add(time.Duration(s.ahead.Load())) }

// LogBuffer collects log lines; it is safe for concurrent use.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything logged so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *LogBuffer) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Start starts a server on a fresh database of the engine; cfg adjusts the API settings.
func Start(tb testing.TB, engine string, cfg ...func(*httpapi.Config)) *Server {
	tb.Helper()
	return StartSSO(tb, engine, nil, cfg...)
}

// StartSSO starts a server like Start that offers single sign-on through the provider signOn
// returns for the server's URL (none when signOn is nil).
func StartSSO(tb testing.TB, engine string, signOn func(url string) ui.SingleSignOn, cfg ...func(*httpapi.Config)) *Server {
	tb.Helper()
	s := &Server{tb: tb}
	db := testdb.Open(tb, engine, func(o *sqlstore.Options) { o.Now = s.now })
	if _, _, err := db.Bootstrap(context.Background(), "admin", gatehouse.NewSecret(Password)); err != nil {
		tb.Fatalf("bootstrap: %v", err)
	}
	c := httpapi.DefaultConfig
	c.LoginFailures = 1000 // tests log in often; the limiter's own test lowers it
	for _, f := range cfg {
		f(&c)
	}
	logs := &LogBuffer{}
	hs := httptest.NewUnstartedServer(nil)
	var sso ui.SingleSignOn
	if signOn != nil {
		sso = signOn("http://" + hs.Listener.Addr().String())
	}
	api := wire.API(db, c, logs.logger(), sso)
	metrics := wire.Metrics(db, logs.logger())
	wire.ServeMetrics(api, metrics, gatehouse.NewSecret(MetricsToken))
	hs.Config.Handler = api
	hs.Start()
	tb.Cleanup(hs.Close)
	s.URL, s.DB, s.API, s.Log, s.Metrics = hs.URL, db, api, logs, metrics
	s.Admin = s.Login("admin")
	return s
}

// Login signs a user in for a CLI-style token and returns a client using it.
func (s *Server) Login(name string) *client.Client {
	s.tb.Helper()
	return s.loginAs(name, Password)
}

func (s *Server) loginAs(name, password string) *client.Client {
	s.tb.Helper()
	var tok gatehouse.NewToken
	in := httpapi.TokenLogin{Credentials: gatehouse.Credentials{Name: name, Password: gatehouse.OutgoingSecret(password)},
		TokenCreate: gatehouse.TokenCreate{Name: "test"}}
	if err := client.New(s.URL, "").Do(context.Background(), "POST", "/api/v1/tokens/login", nil, in, &tok); err != nil {
		s.tb.Fatalf("login %s: %v", name, err)
	}
	return client.New(s.URL, tok.Secret)
}

// Person creates a human user with the bindings ("role@scope") and returns a client signed in
// as them.
func (s *Server) Person(name string, bindings ...string) *client.Client {
	s.tb.Helper()
	ctx := context.Background()
	in := gatehouse.UserCreate{Name: name, Password: gatehouse.OutgoingSecret(Password)}
	if err := s.Admin.Do(ctx, "POST", "/api/v1/users", nil, in, nil); err != nil {
		s.tb.Fatalf("create %s: %v", name, err)
	}
	for _, b := range bindings {
		role, scope, _ := strings.Cut(b, "@")
		rb := gatehouse.RoleBindingCreate{User: name, Role: gatehouse.Role(role), Scope: scope}
		if err := s.Admin.Do(ctx, "POST", "/api/v1/rolebindings", nil, rb, nil); err != nil {
			s.tb.Fatalf("bind %s %s: %v", name, b, err)
		}
	}
	return s.Login(name)
}

// Must fails the test on error.
func (s *Server) Must(err error) {
	s.tb.Helper()
	if err != nil {
		s.tb.Fatal(err)
	}
}

// StartDeploying starts a server like Start with workers running too (short lease, fast
// polling, links pointing at the server), for tests that deploy to testbed clusters or send
// notifications; opts adjust the workers (a mailer, say).
func StartDeploying(tb testing.TB, engine string, opts ...func(*wire.WorkerOptions)) *Server {
	tb.Helper()
	s := Start(tb, engine)
	ctx := context.Background()
	o := wire.WorkerOptions{DataDir: tb.TempDir(), Lease: 2 * time.Second, PollInterval: 50 * time.Millisecond, ExternalURL: s.URL, Logger: s.Log.logger(),
		Metrics: s.Metrics}
	for _, f := range opts {
		f(&o)
	}
	r, err := wire.Worker(ctx, s.DB, o)
	if err != nil {
		tb.Fatalf("workers: %v", err)
	}
	if err := r.Start(ctx); err != nil {
		tb.Fatalf("start workers: %v", err)
	}
	tb.Cleanup(func() {
		stop, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := r.Stop(stop); err != nil {
			tb.Errorf("stop workers: %v", err)
		}
	})
	return s
}

// Step is one API call of a test's setup.
type Step struct {
	Method, Path string
	Body         any
}

// Setup makes the calls in order with the client, failing the test at the first refused one.
func Setup(tb testing.TB, c *client.Client, steps ...Step) {
	tb.Helper()
	for _, st := range steps {
		if err := c.Do(context.Background(), st.Method, st.Path, nil, st.Body, nil); err != nil {
			tb.Fatalf("setup %s %s: %v", st.Method, st.Path, err)
		}
	}
}

// Setup makes the calls in order as the super-admin.
func (s *Server) Setup(steps ...Step) {
	s.tb.Helper()
	Setup(s.tb, s.Admin, steps...)
}

// Post is a POST step of a setup.
func Post(path string, body any) Step { return Step{Method: "POST", Path: path, Body: body} }

// Put is a PUT step of a setup.
func Put(path string, body any) Step { return Step{Method: "PUT", Path: path, Body: body} }
