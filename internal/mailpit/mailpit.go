// Package mailpit runs mailpit, a real SMTP server whose HTTP API shows what it received, for
// tests of code that sends e-mail. The binary is built by ./scripts/build-mailpit.sh (pinned
// by tools/mailpit) and linked as bin/mailpit.
package mailpit

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/internal/childproc"
)

// BuildCommand builds the binary; a test that cannot find it fails with a message naming it.
const BuildCommand = "./scripts/build-mailpit.sh"

// Options select what the server demands of clients. The zero value is plain SMTP without
// STARTTLS or AUTH.
type Options struct {
	STARTTLS bool // offer STARTTLS with a self-signed certificate, and require it before MAIL
	TLS      bool // implicit TLS (SMTPS) with a self-signed certificate; excludes STARTTLS
	// Username and Password, when set, make the server require SMTP AUTH with them (over TLS
	// when STARTTLS or TLS is set, else in clear). Neither may contain spaces; Username no colon.
	Username, Password string
	// Chaos, when set, makes the server answer errors: mailpit's --chaos-triggers, such as
	// "Recipient:550:100" (reject every recipient with 550) or "Sender:451:100".
	Chaos string
}

// Server is a running mailpit.
type Server struct {
	SMTPHost string // 127.0.0.1
	SMTPPort int
	APIURL   string // base URL of the HTTP API, without trailing slash
	LogPath  string // mailpit's output

	http *http.Client
}

// Address is a mailbox of a message.
type Address struct{ Name, Address string }

// Summary is a message as the list of messages shows it.
type Summary struct {
	ID, Subject string
	From        Address
	To          []Address
	Username    string // the SMTP AUTH user who sent it, if any
	Created     time.Time
}

// Mail is one message with its bodies.
type Mail struct {
	ID, Subject string
	From        Address
	To          []Address
	Username    string // the SMTP AUTH user who sent it, if any
	Text, HTML  string
}

// Start runs a mailpit process for the test on free loopback ports (SMTP and HTTP API),
// stopped (and waited for, no process left) when the test ends. opt selects STARTTLS or
// implicit TLS with a self-signed certificate and/or SMTP AUTH with a username and password.
// It fails the test when the binary is missing (saying to run ./scripts/build-mailpit.sh) or
// the server is not ready within 30 seconds.
func Start(tb testing.TB, opt Options) *Server {
	tb.Helper()
	bin, err := binary()
	if err != nil {
		tb.Fatalf("mailpit: %v", err)
	}
	if opt.STARTTLS && opt.TLS {
		tb.Fatal("mailpit: Options.STARTTLS and Options.TLS exclude each other")
	}
	if strings.ContainsAny(opt.Username+opt.Password, " \t\r\n") || strings.Contains(opt.Username, ":") {
		tb.Fatal("mailpit: Options.Username and Password may not contain spaces, Username no colon")
	}
	dir := tb.TempDir()
	args := []string{"--database", filepath.Join(dir, "mailpit.db"), "--disable-version-check", "--smtp-disable-rdns"}
	if opt.STARTTLS || opt.TLS {
		cert, key, err := selfSigned(dir)
		if err != nil {
			tb.Fatalf("mailpit: certificate: %v", err)
		}
		args = append(args, "--smtp-tls-cert", cert, "--smtp-tls-key", key)
		if opt.TLS {
			args = append(args, "--smtp-require-tls")
		} else {
			args = append(args, "--smtp-require-starttls")
		}
	}
	if opt.Username != "" {
		auth := filepath.Join(dir, "smtp-auth")
		if err := os.WriteFile(auth, []byte(opt.Username+":"+opt.Password+"\n"), 0o600); err != nil {
			tb.Fatalf("mailpit: %v", err)
		}
		args = append(args, "--smtp-auth-file", auth)
		if !opt.STARTTLS && !opt.TLS {
			args = append(args, "--smtp-auth-allow-insecure")
		}
	}
	if opt.Chaos != "" {
		args = append(args, "--chaos-triggers", opt.Chaos)
	}
	// A port found free may be taken before mailpit binds it: then try other ports.
	for attempt := 1; ; attempt++ {
		s, err := start(tb, bin, dir, args)
		if err == nil {
			return s
		}
		if attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			tb.Fatalf("mailpit: %v", err)
		}
	}
}

// start runs one attempt of Start on newly chosen ports.
func start(tb testing.TB, bin, dir string, args []string) (*Server, error) {
	smtpPort, apiPort := freePort(tb), freePort(tb)
	s := &Server{
		SMTPHost: "127.0.0.1",
		SMTPPort: smtpPort,
		APIURL:   "http://127.0.0.1:" + strconv.Itoa(apiPort),
		LogPath:  filepath.Join(dir, fmt.Sprintf("mailpit-%d.log", smtpPort)),
		http:     &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 10 * time.Second},
	}
	args = slices.Concat(args, []string{"--smtp", net.JoinHostPort(s.SMTPHost, strconv.Itoa(smtpPort)), "--listen", "127.0.0.1:" + strconv.Itoa(apiPort)})
	proc, err := childproc.Start(dir, s.LogPath, bin, args)
	if err != nil {
		return nil, err
	}
	stop := func() {
		proc.Stop(5 * time.Second)
		s.http.CloseIdleConnections()
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if s.ready() {
			tb.Cleanup(stop)
			return s, nil
		}
		what := "exited before it was ready"
		select {
		case <-proc.Done():
		default:
			if time.Now().Before(deadline) {
				continue
			}
			stop()
			what = "not ready after 30s"
		}
		log, _ := os.ReadFile(s.LogPath)
		return nil, fmt.Errorf("%s; its output:\n%s", what, log)
	}
}

// ready reports whether the API answers /readyz and the SMTP port accepts connections.
func (s *Server) ready() bool {
	resp, err := s.http.Get(s.APIURL + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	c, err := net.DialTimeout("tcp", net.JoinHostPort(s.SMTPHost, strconv.Itoa(s.SMTPPort)), time.Second)
	if err == nil {
		c.Close()
	}
	return err == nil && resp.StatusCode == http.StatusOK
}

// Messages lists the messages received, newest first (GET /api/v1/messages).
func (s *Server) Messages(ctx context.Context) ([]Summary, error) {
	var list struct{ Messages []Summary }
	if err := s.get(ctx, "/api/v1/messages?limit=1000", &list); err != nil {
		return nil, err
	}
	return list.Messages, nil
}

// Message returns one message with its bodies (GET /api/v1/message/{ID}).
func (s *Server) Message(ctx context.Context, id string) (*Mail, error) {
	var m Mail
	if err := s.get(ctx, "/api/v1/message/"+url.PathEscape(id), &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// WaitFor polls Messages every 20ms until at least n messages have arrived, and returns them;
// ctx bounds the wait.
func (s *Server) WaitFor(ctx context.Context, n int) ([]Summary, error) {
	for {
		list, err := s.Messages(ctx)
		if err == nil && len(list) >= n {
			return list, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("mailpit: waiting for %d messages, %d arrived (last error: %v): %w", n, len(list), err, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// get decodes the JSON answer of a GET of the API.
func (s *Server) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.APIURL+path, nil)
	if err != nil {
		return fmt.Errorf("mailpit: %w", err)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("mailpit: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("mailpit: GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("mailpit: GET %s: %w", path, err)
	}
	return nil
}

// binary finds mailpit: in $GATEHOUSE_TESTBED_BIN if set, else in the bin directory of the
// repository around the working directory (the nearest directory above holding
// tools/kube/go.mod).
func binary() (string, error) {
	dir := os.Getenv("GATEHOUSE_TESTBED_BIN")
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		for dir = wd; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "tools", "kube", "go.mod")); err == nil {
				break
			}
			if filepath.Dir(dir) == dir {
				return "", fmt.Errorf("no repository (a directory holding tools/kube/go.mod) above %s: set GATEHOUSE_TESTBED_BIN or run %s in a checkout", wd, BuildCommand)
			}
		}
		dir = filepath.Join(dir, "bin")
	}
	bin, err := filepath.Abs(filepath.Join(dir, "mailpit"))
	if err != nil {
		return "", err
	}
	if info, err := os.Stat(bin); err != nil || info.IsDir() || info.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("no executable %s: run %s", bin, BuildCommand)
	}
	return bin, nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(tb testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("mailpit: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// selfSigned writes a self-signed certificate for localhost, 127.0.0.1 and ::1 and its key into
// dir, and returns their paths.
func selfSigned(dir string) (certPath, keyPath string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	keyDER, err2 := x509.MarshalPKCS8PrivateKey(key)
	if err = errors.Join(err, err2); err != nil {
		return "", "", err
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	return certPath, keyPath, errors.Join(
		os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600),
		os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
}

// Mails waits up to 30 seconds for at least n messages and returns them all with their
// bodies, newest first, failing the test if they do not come.
func (s *Server) Mails(tb testing.TB, n int) []*Mail {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := s.WaitFor(ctx, n)
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]*Mail, len(list))
	for i, m := range list {
		if out[i], err = s.Message(ctx, m.ID); err != nil {
			tb.Fatal(err)
		}
	}
	return out
}
