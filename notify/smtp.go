package notify

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	netmail "net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/wneessen/go-mail"
)

// The TLS modes of SMTPConfig.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS, which the server must offer
	TLSImplicit = "tls"      // TLS from the first byte (SMTPS)
	TLSNone     = "none"     // no encryption
)

// DefaultSMTPTimeout bounds each exchange with the server when SMTPConfig.Timeout is zero.
const DefaultSMTPTimeout = 10 * time.Second

// SMTPConfig configures the SMTP sender. Its zero values take the defaults documented on each
// field.
type SMTPConfig struct {
	Host       string
	Port       int              // default 587 for starttls, 465 for tls, 25 for none
	Username   string           // optional: log in (SMTP AUTH) only when set
	Password   gatehouse.Secret // the Username's password; never logged nor in errors
	TLS        string           // "starttls" (default), "tls" (implicit TLS) or "none"
	From       string           // sender address, required
	SkipVerify bool             // accept any server certificate (test servers with self-signed ones)
	Timeout    time.Duration    // bounds each exchange with the server; default 10s
}

// Validate checks every setting. Its errors are *gatehouse.Error of kind invalid whose Field
// names the setting ("smtp-host", "smtp-port", "smtp-tls", "smtp-from", "smtp-username",
// "smtp-timeout") and whose message says what is expected.
func (c SMTPConfig) Validate() error {
	if c.Host == "" || (strings.ContainsAny(c.Host, " /:@") && net.ParseIP(c.Host) == nil) {
		return gatehouse.Invalidf("smtp-host", "%q is not a host name: expected the SMTP server's name or IP address", c.Host)
	}
	if c.Port < 0 || c.Port > 65535 {
		return gatehouse.Invalidf("smtp-port", "%d is not a port: expected 1 to 65535 (0 for the default of the TLS mode)", c.Port)
	}
	switch c.TLS {
	case "", TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return gatehouse.Invalidf("smtp-tls", "%q is not a TLS mode: expected starttls, tls or none", c.TLS)
	}
	if c.From == "" {
		return gatehouse.Invalidf("smtp-from", "expected the sender's e-mail address")
	}
	if _, err := parseAddress(c.From); err != nil {
		return gatehouse.Invalidf("smtp-from", "%q is not an e-mail address", c.From)
	}
	if c.Username == "" && !c.Password.IsZero() {
		return gatehouse.Invalidf("smtp-username", "a password is set without a username: expected both or neither")
	}
	if containsNewline(c.Username) {
		return gatehouse.Invalidf("smtp-username", "expected one line")
	}
	if c.Timeout < 0 {
		return gatehouse.Invalidf("smtp-timeout", "%s is negative: expected a positive duration (0 for 10s)", c.Timeout)
	}
	return nil
}

// SMTP sends e-mail through one SMTP server, a new connection for each message. It is safe for
// concurrent use.
type SMTP struct {
	c SMTPConfig // validated, defaults applied
}

var _ Mailer = (*SMTP)(nil)

// NewSMTP validates c (see SMTPConfig.Validate) and returns a sender using it.
func NewSMTP(c SMTPConfig) (*SMTP, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.TLS == "" {
		c.TLS = TLSStartTLS
	}
	if c.Port == 0 {
		c.Port = map[string]int{TLSStartTLS: 587, TLSImplicit: 465, TLSNone: 25}[c.TLS]
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultSMTPTimeout
	}
	return &SMTP{c: c}, nil
}

// Send delivers m: it connects, encrypts as the TLS mode demands (refusing to go on in clear
// when STARTTLS is required and the server does not offer it), logs in when a username is set,
// and returns once the server has accepted the message. ctx bounds the whole exchange, and
// each step is bounded by the Timeout. An invalid m fails before any connection, with a
// *gatehouse.Error of kind invalid.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	msg, err := s.build(m)
	if err != nil {
		return err
	}
	d := &dialer{ctx: ctx, tlsConfig: s.tlsConfig(), implicit: s.c.TLS == TLSImplicit}
	defer d.stop()
	opts := []mail.Option{
		mail.WithPort(s.c.Port),
		mail.WithTimeout(s.c.Timeout),
		mail.WithDialContextFunc(d.dial),
		mail.WithTLSConfig(d.tlsConfig),
		// With implicit TLS the dialer encrypts; only starttls leaves it to go-mail.
		mail.WithTLSPolicy(mail.NoTLS),
	}
	if s.c.TLS == TLSStartTLS {
		opts[len(opts)-1] = mail.WithTLSPolicy(mail.TLSMandatory)
	}
	if s.c.Username != "" {
		opts = append(opts, mail.WithSMTPAuthCustom(&negotiatedAuth{
			user: s.c.Username, pass: s.c.Password.Reveal(), host: s.c.Host,
		}))
	}
	client, err := mail.NewClient(s.c.Host, opts...)
	if err != nil {
		return fmt.Errorf("notify: smtp %s: %w", s.addr(), err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		if cause := context.Cause(ctx); cause != nil {
			return fmt.Errorf("notify: smtp %s: %w: %w", s.addr(), cause, err)
		}
		return fmt.Errorf("notify: smtp %s: %w", s.addr(), err)
	}
	return nil
}

// build turns m into go-mail's message from the configured sender.
func (s *SMTP) build(m Message) (*mail.Msg, error) {
	msg := mail.NewMsg()
	if err := msg.From(s.c.From); err != nil {
		return nil, gatehouse.Invalidf("smtp-from", "%q is not an e-mail address", s.c.From)
	}
	if err := msg.To(m.To...); err != nil {
		return nil, gatehouse.Invalidf("to", "%s", err)
	}
	msg.Subject(m.Subject)
	msg.SetUserAgent("gatehouse")
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// tlsConfig is the TLS configuration of connections to the server.
func (s *SMTP) tlsConfig() *tls.Config {
	return &tls.Config{
		ServerName:         s.c.Host,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: s.c.SkipVerify, //nolint:gosec // asked for explicitly, for test servers
	}
}

// addr is the server's host:port, for errors.
func (s *SMTP) addr() string { return net.JoinHostPort(s.c.Host, strconv.Itoa(s.c.Port)) }

// parseAddress parses one RFC 5322 address, with or without a display name.
func parseAddress(s string) (*netmail.Address, error) {
	if containsNewline(s) {
		return nil, fmt.Errorf("line break in address")
	}
	return netmail.ParseAddress(s)
}
