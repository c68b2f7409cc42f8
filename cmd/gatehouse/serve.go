package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/cli"
	"github.com/gatehousehq/gatehouse/httpapi"
	"github.com/gatehousehq/gatehouse/internal/flagenv"
	"github.com/gatehousehq/gatehouse/internal/wire"
	"github.com/gatehousehq/gatehouse/keyring"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// settings are the server's configuration, from flags, GATEHOUSE_* variables and a config file.
type settings struct {
	listen string
	storeSettings
	tlsCert        string
	tlsKey         string
	secureCookies  bool
	sessionTTL     time.Duration
	loginFailures  int
	loginWindow    time.Duration
	maxBodyBytes   int64
	trustedProxies []string
	adminUser      string
	adminPassword  string
	workers        int
	deployLease    time.Duration
	externalURL    string
	mail           mailSettings
	sso            ssoSettings
	logFormat      string
	logLevel       string
	configFile     string
	metrics        metricsSettings
	attestKeyFile  string
	// opened, when set, is handed the store once it is open (the demo writes its history).
	opened func(*sqlstore.DB)
}

func serveCmd(a *cli.App) *cobra.Command {
	var s settings
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Gatehouse server (REST API and workers)",
		Long: `Run the Gatehouse server. With no settings it keeps everything in ./gatehouse-data: a SQLite
database and the keys (secret.key seals credentials at rest, audit.key keys the audit hash
chain, attestation.key signs deployment attestations). For several replicas, point --database
at PostgreSQL and give every replica the same key files.

On first start, with no users, it creates a super-admin (--admin-user) and prints its
password once; set GATEHOUSE_ADMIN_PASSWORD to choose it instead.

Every setting is a flag, a GATEHOUSE_* environment variable, or a key of the --config file
(YAML, flag names as keys), in that order of precedence.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyConfigFile(cmd.Flags(), cmd.Flags(), s.configFile); err != nil {
				return err
			}
			s.adminPassword = os.Getenv("GATEHOUSE_ADMIN_PASSWORD")
			return serve(cmd.Context(), s, a.Out, a.Err)
		},
	}
	bindServeFlags(cmd.Flags(), &s)
	return cmd
}

// bindServeFlags defines the server's settings as flags of f, with their defaults.
func bindServeFlags(f *pflag.FlagSet, s *settings) {
	f.StringVar(&s.listen, "listen", "127.0.0.1:8080", "address to listen on")
	bindStoreFlags(f, &s.storeSettings, ", created if missing")
	f.StringVar(&s.attestKeyFile, "attestation-key-file", "", "Ed25519 keys that sign deployment attestations, one base64 seed per line, current first; retired keys stay published (default: DATA-DIR/attestation.key, created if missing)")
	f.StringVar(&s.tlsCert, "tls-cert", "", "TLS certificate file (serve HTTPS)")
	f.StringVar(&s.tlsKey, "tls-key", "", "TLS private key file")
	f.BoolVar(&s.secureCookies, "secure-cookies", false, "mark cookies Secure (on by itself with --tls-cert; set it behind a TLS proxy)")
	f.DurationVar(&s.sessionTTL, "session-ttl", httpapi.DefaultConfig.SessionTTL, "browser session lifetime")
	f.IntVar(&s.loginFailures, "login-failures", httpapi.DefaultConfig.LoginFailures, "failed sign-ins allowed per user and address per --login-window")
	f.DurationVar(&s.loginWindow, "login-window", httpapi.DefaultConfig.LoginWindow, "window of the sign-in limiter")
	f.Int64Var(&s.maxBodyBytes, "max-body-bytes", httpapi.DefaultConfig.MaxBodyBytes, "largest request body accepted")
	f.StringSliceVar(&s.trustedProxies, "trusted-proxy", nil, "CIDR of a reverse proxy whose X-Forwarded-For is believed (repeat)")
	f.StringVar(&s.adminUser, "admin-user", "admin", "name of the super-admin created on first start")
	f.IntVar(&s.workers, "workers", 100, "deployments this server runs at once")
	f.DurationVar(&s.deployLease, "deploy-lease", 30*time.Second, "how long a deployment's worker may go silent before another server resumes it")
	f.StringVar(&s.externalURL, "external-url", "", "the server's address as people reach it, for links in e-mails (default: http(s)://LISTEN)")
	bindMailFlags(f, &s.mail)
	bindSSOFlags(f, &s.sso)
	bindMetricsFlags(f, &s.metrics)
	f.StringVar(&s.logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&s.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&s.configFile, "config", "", "config file (YAML: flag names as keys)")
}

// storeSettings locate the database and the two key files; serve and keys share them.
type storeSettings struct {
	dataDir       string
	database      string
	secretKeyFile string
	auditKeyFile  string
}

// bindStoreFlags defines the store's settings as flags of f; created ends the key files' usage
// (", created if missing" for serve).
func bindStoreFlags(f *pflag.FlagSet, s *storeSettings, created string) {
	f.StringVar(&s.dataDir, "data-dir", "gatehouse-data", "directory for the SQLite database and key files")
	f.StringVar(&s.database, "database", "", "postgres://… for PostgreSQL; default: SQLite in the data directory")
	f.StringVar(&s.secretKeyFile, "secret-key-file", "", "keys that seal secrets at rest, one base64 key per line, current first (default: DATA-DIR/secret.key"+created+")")
	f.StringVar(&s.auditKeyFile, "audit-key-file", "", "key of the audit hash chain; keep it out of the database's backups (default: DATA-DIR/audit.key"+created+")")
}

// paths resolves the defaults: the secret key file, the audit key file and the database.
func (s storeSettings) paths() (secretFile, auditFile, dsn string) {
	secretFile, auditFile, dsn = s.secretKeyFile, s.auditKeyFile, s.database
	if secretFile == "" {
		secretFile = filepath.Join(s.dataDir, "secret.key")
	}
	if auditFile == "" {
		auditFile = filepath.Join(s.dataDir, "audit.key")
	}
	if dsn == "" {
		dsn = filepath.Join(s.dataDir, "gatehouse.db")
	}
	return secretFile, auditFile, dsn
}

// applyConfigFile sets the flags of fs that neither the command line nor the environment set
// from the YAML config file at path (none when empty), refusing keys that are not flags of
// known.
func applyConfigFile(fs, known *pflag.FlagSet, path string) error {
	if path == "" {
		return nil
	}
	file, err := flagenv.ReadFile(path, known)
	if err != nil {
		return gatehouse.Invalidf("--config", "%v", err)
	}
	if err := flagenv.Apply(fs, file); err != nil {
		return gatehouse.Invalidf("--config", "%v", err)
	}
	return nil
}

// logger builds the server's logger from the settings.
func (s settings) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(s.logLevel)); err != nil {
		return nil, gatehouse.Invalidf("--log-level", "%q is not a level: expected debug, info, warn or error", s.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch s.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, gatehouse.Invalidf("--log-format", "%q is not a format: expected text or json", s.logFormat)
}

// apiConfig checks the API settings.
func (s settings) apiConfig() (httpapi.Config, error) {
	c := httpapi.Config{SessionTTL: s.sessionTTL, SecureCookies: s.secureCookies || s.tlsCert != "", MaxBodyBytes: s.maxBodyBytes,
		LoginFailures: s.loginFailures, LoginWindow: s.loginWindow}
	if (s.tlsCert == "") != (s.tlsKey == "") {
		return c, gatehouse.Invalidf("--tls-key", "--tls-cert and --tls-key go together")
	}
	for _, p := range s.trustedProxies {
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			return c, gatehouse.Invalidf("--trusted-proxy", "%q is not a CIDR: expected e.g. 10.0.0.0/8", p)
		}
		c.TrustedProxies = append(c.TrustedProxies, prefix)
	}
	if c.SessionTTL < time.Minute || c.LoginFailures < 1 || c.LoginWindow <= 0 || c.MaxBodyBytes < 1024 {
		return c, gatehouse.Invalidf("flags", "session-ttl ≥ 1m, login-failures ≥ 1, login-window > 0 and max-body-bytes ≥ 1024 are expected")
	}
	return c, nil
}

// openStore loads (or creates) the keys and opens the database.
func (s settings) openStore(ctx context.Context, log *slog.Logger) (*sqlstore.DB, error) {
	secretFile, auditFile, dsn := s.paths()
	secretKeys, created, err := keyring.LoadOrCreate(secretFile)
	if err != nil {
		return nil, fmt.Errorf("secret keys: %w", err)
	}
	if created {
		log.Warn("created a new secret key; back it up: without it, stored credentials cannot be read", "file", secretFile)
	}
	ring, err := keyring.New(secretKeys...)
	if err != nil {
		return nil, fmt.Errorf("secret keys: %w", err)
	}
	auditKeys, created, err := keyring.LoadOrCreate(auditFile)
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	if created {
		log.Warn("created a new audit key; keep it apart from database backups", "file", auditFile)
	}
	attestFile := s.attestKeyFile
	if attestFile == "" {
		attestFile = filepath.Join(s.dataDir, "attestation.key")
	}
	attestKeys, created, err := keyring.LoadOrCreate(attestFile)
	if err != nil {
		return nil, fmt.Errorf("attestation keys: %w", err)
	}
	if created {
		log.Warn("created a new attestation key; back it up: attestations it signs verify only with its public key", "file", attestFile)
	}
	return sqlstore.Open(ctx, sqlstore.Options{DSN: dsn, Secrets: ring, AuditKey: auditKeys[0], AttestationKeys: attestKeys, Logger: log})
}

// serve runs the server until ctx ends, then drains requests for up to 10 seconds.
func serve(ctx context.Context, s settings, out, logOut io.Writer) error {
	log, err := s.logger(logOut)
	if err != nil {
		return err
	}
	cfg, err := s.apiConfig()
	if err != nil {
		return err
	}
	metricsToken, err := s.metrics.token()
	if err != nil {
		return err
	}
	db, err := s.openStore(ctx, log)
	if err != nil {
		return err
	}
	defer db.Close()
	if s.opened != nil {
		s.opened(db)
	}
	pw, created, err := db.Bootstrap(ctx, s.adminUser, gatehouse.NewSecret(s.adminPassword))
	if err != nil {
		return err
	}
	if created {
		shown := pw.Reveal()
		if s.adminPassword != "" {
			shown = "(as set)"
		}
		fmt.Fprintf(out, "Created the first user %q (super-admin). Password, shown only now: %s\n", s.adminUser, shown)
	}
	ln, err := net.Listen("tcp", s.listen)
	if err != nil {
		return gatehouse.Invalidf("--listen", "cannot listen on %s: %v", s.listen, err)
	}
	metrics, metricsSrv, err := s.metrics.start(db, log)
	if err != nil {
		ln.Close()
		return err
	}
	if metricsSrv != nil {
		defer metricsSrv.ln.Close() // when serve returns before serving metrics
		defer metricsSrv.srv.Close()
	}
	mailer, err := s.mail.mailer()
	if err != nil {
		return err
	}
	external := s.externalURL
	if external == "" {
		external = "http://" + s.listen
		if s.tlsCert != "" {
			external = "https://" + s.listen
		}
	}
	signOn, err := s.sso.provider(external)
	if err != nil {
		return err
	}
	runner, err := wire.Worker(ctx, db, wire.WorkerOptions{DataDir: s.dataDir, Workers: s.workers, Lease: s.deployLease, Logger: log,
		Mailer: mailer, ExternalURL: external, Metrics: metrics})
	if err != nil {
		return err
	}
	if err := runner.Start(ctx); err != nil {
		return err
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := runner.Stop(stopCtx); err != nil {
			log.Warn("stop workers", "err", err)
		}
	}()
	api := wire.API(db, cfg, log, signOn)
	if metrics != nil {
		wire.ServeMetrics(api, metrics, metricsToken)
	}
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	scheme := "http"
	if s.tlsCert != "" {
		scheme = "https"
	}
	fmt.Fprintf(out, "Gatehouse is serving on %s://%s (%s database)\n", scheme, ln.Addr(), db.Engine())
	errc := make(chan error, 2)
	go func() {
		if s.tlsCert != "" {
			errc <- srv.ServeTLS(ln, s.tlsCert, s.tlsKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	if metricsSrv != nil {
		log.Info("serving metrics", "addr", metricsSrv.addr)
		go func() { errc <- fmt.Errorf("metrics: %w", metricsSrv.srv.Serve(metricsSrv.ln)) }()
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if metricsSrv != nil {
		if err := metricsSrv.srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("shut down metrics listener", "err", err)
		}
	}
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
