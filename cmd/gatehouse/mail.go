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
	pw, err := secretSetting("GATEHOUSE_SMTP_PASSWORD", "smtp-password-file", m.passwordFile)
	if err != nil {
		return nil, err
	}
	s, err := notify.NewSMTP(notify.SMTPConfig{Host: m.host, Port: m.port, Username: m.username, Password: pw,
		TLS: m.tls, From: m.from, SkipVerify: m.skipVerify, Timeout: m.timeout})
	if err != nil {
		return nil, asFlagError(err)
	}
	return s, nil
}

// secretSetting reads a secret from the file the flag names, or else from the environment
// variable, so it never appears on a command line.
func secretSetting(env, flag, file string) (gatehouse.Secret, error) {
	if file == "" {
		return gatehouse.NewSecret(os.Getenv(env)), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return gatehouse.Secret{}, gatehouse.Invalidf("--"+flag, "cannot read %s", file)
	}
	return gatehouse.NewSecret(strings.TrimSpace(string(b))), nil
}

// asFlagError names a setting's field as its flag ("smtp-port" → "--smtp-port").
func asFlagError(err error) error {
	if e, ok := err.(*gatehouse.Error); ok && e.Field != "" && !strings.HasPrefix(e.Field, "--") {
		e.Field = "--" + e.Field
	}
	return err
}
