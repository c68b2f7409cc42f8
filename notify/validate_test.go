package notify_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/notify"
)

// wantInvalid checks that err is a *gatehouse.Error of kind invalid naming field, and that
// Permanent holds for it.
func wantInvalid(t *testing.T, name string, err error, field string) {
	t.Helper()
	var ge *gatehouse.Error
	if !errors.As(err, &ge) || ge.Kind != gatehouse.KindInvalid || ge.Field != field || ge.Message == "" {
		t.Errorf("%s: error %#v, want kind invalid with field %q", name, err, field)
		return
	}
	if !notify.Permanent(err) {
		t.Errorf("%s: Permanent(%v) = false", name, err)
	}
}

func TestSMTPConfigValidate(t *testing.T) {
	t.Parallel()
	good := notify.SMTPConfig{Host: "smtp.example.com", From: "gatehouse@example.com"}
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate(%+v) = %v", good, err)
	}
	for name, tc := range map[string]struct {
		change func(*notify.SMTPConfig)
		field  string
	}{
		"no host":              {func(c *notify.SMTPConfig) { c.Host = "" }, "smtp-host"},
		"host with port":       {func(c *notify.SMTPConfig) { c.Host = "smtp.example.com:25" }, "smtp-host"},
		"port out of range":    {func(c *notify.SMTPConfig) { c.Port = 70000 }, "smtp-port"},
		"unknown tls":          {func(c *notify.SMTPConfig) { c.TLS = "ssl" }, "smtp-tls"},
		"no from":              {func(c *notify.SMTPConfig) { c.From = "" }, "smtp-from"},
		"from not an address":  {func(c *notify.SMTPConfig) { c.From = "gatehouse" }, "smtp-from"},
		"password, no user":    {func(c *notify.SMTPConfig) { c.Password = gatehouse.NewSecret("pw") }, "smtp-username"},
		"user with line break": {func(c *notify.SMTPConfig) { c.Username = "a\r\nRCPT TO:<x@y>" }, "smtp-username"},
		"negative timeout":     {func(c *notify.SMTPConfig) { c.Timeout = -time.Second }, "smtp-timeout"},
	} {
		c := good
		tc.change(&c)
		wantInvalid(t, name, c.Validate(), tc.field)
		_, err := notify.NewSMTP(c)
		wantInvalid(t, "NewSMTP "+name, err, tc.field)
	}
}

func TestMessageValidate(t *testing.T) {
	t.Parallel()
	good := notify.Message{To: []string{"alice@example.com", "Bob <bob@example.com>"}, Subject: "s", Text: "t"}
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate = %v", err)
	}
	s, err := notify.NewSMTP(notify.SMTPConfig{Host: "127.0.0.1", Port: 1, TLS: "none", From: "gatehouse@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		m     notify.Message
		field string
	}{
		"no recipient":           {notify.Message{Text: "t"}, "to"},
		"recipient not an addr":  {notify.Message{To: []string{"alice"}, Text: "t"}, "to"},
		"recipient with newline": {notify.Message{To: []string{"a@example.com\r\nBcc: x@y.z"}, Text: "t"}, "to"},
		"two-line subject":       {notify.Message{To: []string{"a@example.com"}, Subject: "a\nBcc: x@y.z", Text: "t"}, "subject"},
		"no text":                {notify.Message{To: []string{"a@example.com"}, HTML: "<p>h</p>"}, "text"},
	} {
		wantInvalid(t, name, tc.m.Validate(), tc.field)
		// Send checks before it connects (nothing listens on port 1).
		wantInvalid(t, "Send "+name, s.Send(t.Context(), tc.m), tc.field)
	}
}

func TestWebhookValidate(t *testing.T) {
	t.Parallel()
	for _, w := range []notify.Webhook{
		{URL: "https://hooks.slack.com/services/T0/B0/X", Format: "slack"},
		{URL: "http://127.0.0.1:8080/hook"},
		{URL: "https://example.com", Format: "json", Secret: "s"},
	} {
		if err := w.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v", w, err)
		}
	}
	for name, tc := range map[string]struct {
		w     notify.Webhook
		field string
	}{
		"empty url":      {notify.Webhook{}, "url"},
		"no scheme":      {notify.Webhook{URL: "example.com/hook"}, "url"},
		"ftp":            {notify.Webhook{URL: "ftp://example.com/hook"}, "url"},
		"no host":        {notify.Webhook{URL: "https:///hook"}, "url"},
		"unknown format": {notify.Webhook{URL: "https://example.com", Format: "xml"}, "format"},
	} {
		err := tc.w.Validate()
		wantInvalid(t, name, err, tc.field)
		wantInvalid(t, "Post "+name, notify.Post(t.Context(), nil, tc.w, notify.Event{}), tc.field)
	}
	// The URL's path may hold a token: the error shows only scheme and host.
	err := notify.Webhook{URL: "https://hooks.example.com/services/TOKEN123", Format: "xml"}.Validate()
	if err == nil || strings.Contains(err.Error(), "TOKEN123") {
		t.Errorf("Validate = %v", err)
	}
	err = notify.Webhook{URL: "gopher://hooks.example.com/services/TOKEN123"}.Validate()
	if err == nil || strings.Contains(err.Error(), "TOKEN123") {
		t.Errorf("Validate = %v", err)
	}
}
