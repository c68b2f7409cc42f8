package main

import (
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/notify"
)

// mailSettings configure e-mail notifications; without --smtp-host none are sent.
type mailSettings struct {
	host, username, passwordFile, tls, from string
	port                                    int
	skipVerify                              bool
	timeout                                 time.Duration
}

func bindMailFlags(f *pflag.FlagSet, m *mailSettings) {
	f.StringVar(&m.host, "smtp-host", "", "SMTP server for e-mail notifications (none sent when empty)")
	f.IntVar(&m.port, "smtp-port", 0, "SMTP port (default 587 with starttls, 465 with tls, 25 with none)")
	f.StringVar(&m.tls, "smtp-tls", notify.TLSStartTLS, "SMTP transport security: starttls (required), tls (implicit) or none")
	f.StringVar(&m.username, "smtp-username", "", "SMTP AUTH user name (no AUTH when empty)")
	f.StringVar(&m.passwordFile, "smtp-password-file", "", "file holding the SMTP password (or set GATEHOUSE_SMTP_PASSWORD)")
	f.StringVar(&m.from, "smtp-from", "", "sender address of notifications")
	f.BoolVar(&m.skipVerify, "smtp-skip-verify", false, "accept any SMTP server certificate (test servers only)")
	f.DurationVar(&m.timeout, "smtp-timeout", notify.DefaultSMTPTimeout, "bound on one SMTP delivery")
}

// mailer builds the SMTP sender, or nil when no host is set.
func (m mailSettings) mailer() (notify.Mailer, error) {
	if m.host == "" {
		return nil, nil
	}
	pw := os.Getenv("GATEHOUSE_SMTP_PASSWORD")
	if m.passwordFile != "" {
		b, err := os.ReadFile(m.passwordFile)
		if err != nil {
			return nil, gatehouse.Invalidf("--smtp-password-file", "cannot read %s", m.passwordFile)
		}
		pw = strings.TrimSpace(string(b))
	}
	s, err := notify.NewSMTP(notify.SMTPConfig{Host: m.host, Port: m.port, Username: m.username, Password: gatehouse.NewSecret(pw),
		TLS: m.tls, From: m.from, SkipVerify: m.skipVerify, Timeout: m.timeout})
	if err != nil {
		if e, ok := err.(*gatehouse.Error); ok && e.Field != "" && !strings.HasPrefix(e.Field, "--") {
			e.Field = "--" + e.Field
		}
		return nil, err
	}
	return s, nil
}
