package main

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/wire"
	"github.com/gatehousehq/gatehouse/sqlstore"
	"github.com/gatehousehq/gatehouse/telemetry"
)

// metricsSettings say where Prometheus metrics are served: nowhere unless one is set.
type metricsSettings struct {
	listen    string // a listener of their own, without credentials
	tokenFile string // the main listener, to bearers of the file's token
	pprof     bool   // Go's runtime profiles beside them on the listener of their own
}

func bindMetricsFlags(f *pflag.FlagSet, s *metricsSettings) {
	f.StringVar(&s.listen, "metrics-listen", "", "serve Prometheus metrics at /metrics on this address of their own, without credentials (keep it private; none when empty)")
	f.BoolVar(&s.pprof, "pprof", false, "serve Go's runtime profiles at /debug/pprof/ on --metrics-listen too (CPU, heap, goroutines: for finding where time and memory go)")
	f.StringVar(&s.tokenFile, "metrics-token-file", "", "serve Prometheus metrics at /metrics on --listen to requests bearing the token this file holds (none when empty)")
}

// minMetricsToken is the shortest metrics token accepted: the route has no rate limit.
const minMetricsToken = 16

// token reads the metrics token, refusing a file that is missing, empty or too short; with
// no file it is empty.
func (s metricsSettings) token() (gatehouse.Secret, error) {
	if s.tokenFile == "" {
		return gatehouse.Secret{}, nil
	}
	b, err := os.ReadFile(s.tokenFile)
	if err != nil {
		return gatehouse.Secret{}, gatehouse.Invalidf("--metrics-token-file", "cannot read %s", s.tokenFile)
	}
	tok := strings.TrimSpace(string(b))
	if len(tok) < minMetricsToken {
		return gatehouse.Secret{}, gatehouse.Invalidf("--metrics-token-file", "%s holds %d characters: expected a token of at least %d (e.g. openssl rand -hex 32)",
			s.tokenFile, len(tok), minMetricsToken)
	}
	return gatehouse.NewSecret(tok), nil
}

// metricsServer is the metrics' own listener and server.
type metricsServer struct {
	addr string
	ln   net.Listener
	srv  *http.Server
}

// start builds the metrics when either setting asks for them, and listens on --metrics-listen
// when it is set; with neither it returns nils.
func (s metricsSettings) start(db *sqlstore.DB, log *slog.Logger) (*telemetry.Metrics, *metricsServer, error) {
	if s.pprof && s.listen == "" {
		return nil, nil, gatehouse.Invalidf("--pprof", "needs --metrics-listen: profiles are served only on the metrics' own address")
	}
	if s.listen == "" && s.tokenFile == "" {
		return nil, nil, nil
	}
	m := wire.Metrics(db, log)
	if s.listen == "" {
		return m, nil, nil
	}
	ln, err := net.Listen("tcp", s.listen)
	if err != nil {
		return nil, nil, gatehouse.Invalidf("--metrics-listen", "cannot listen on %s: %v", s.listen, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+wire.MetricsPath, m.Handler())
	if s.pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	return m, &metricsServer{addr: ln.Addr().String(), ln: ln, srv: srv}, nil
}
