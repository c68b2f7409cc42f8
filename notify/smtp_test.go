package notify_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/mailpit"
	"github.com/gatehousehq/gatehouse/notify"
)

const from = "Gatehouse <gatehouse@example.com>"

func newSMTP(t *testing.T, c notify.SMTPConfig) *notify.SMTP {
	t.Helper()
	s, err := notify.NewSMTP(c)
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	return s
}

func timeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// received waits for the n-th message on srv and reads it back in full.
func received(t *testing.T, srv *mailpit.Server, n int) *mailpit.Mail {
	t.Helper()
	ctx := timeout(t, 10*time.Second)
	list, err := srv.WaitFor(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	m, err := srv.Message(ctx, list[0].ID) // newest first
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// count returns how many messages srv holds.
func count(t *testing.T, srv *mailpit.Server) int {
	t.Helper()
	list, err := srv.Messages(timeout(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

func TestSMTPPlainDeliversEveryPart(t *testing.T) {
	t.Parallel()
	srv := mailpit.Start(t, mailpit.Options{})
	s := newSMTP(t, notify.SMTPConfig{Host: srv.SMTPHost, Port: srv.SMTPPort, TLS: "none", From: from})
	msg := notify.Message{
		To:      []string{"alice@example.com", "Bob Builder <bob@example.com>"},
		Subject: "Approval requested: shop/web 1.4.0 → prod",
		Text:    "Alice asks to deploy shop/web 1.4.0 to prod.\nÜnïcode survives.",
		HTML:    "<p>Alice asks to deploy <b>shop/web 1.4.0</b> to prod.</p>",
	}
	if err := s.Send(timeout(t, 10*time.Second), msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := received(t, srv, 1)
	if got.From.Address != "gatehouse@example.com" || got.From.Name != "Gatehouse" {
		t.Errorf("From = %+v", got.From)
	}
	var to []string
	for _, a := range got.To {
		to = append(to, a.Address)
	}
	if strings.Join(to, ",") != "alice@example.com,bob@example.com" || got.To[1].Name != "Bob Builder" {
		t.Errorf("To = %+v", got.To)
	}
	if got.Subject != msg.Subject {
		t.Errorf("Subject = %q, want %q", got.Subject, msg.Subject)
	}
	// E-mail ends lines with CRLF.
	if strings.TrimSpace(strings.ReplaceAll(got.Text, "\r\n", "\n")) != msg.Text {
		t.Errorf("Text = %q, want %q", got.Text, msg.Text)
	}
	if strings.TrimSpace(got.HTML) != msg.HTML {
		t.Errorf("HTML = %q, want %q", got.HTML, msg.HTML)
	}
}

func TestSMTPStartTLSWithAuth(t *testing.T) {
	t.Parallel()
	srv := mailpit.Start(t, mailpit.Options{STARTTLS: true, Username: "gatehouse", Password: "correct-horse-battery"})
	c := notify.SMTPConfig{
		Host: srv.SMTPHost, Port: srv.SMTPPort, From: from, SkipVerify: true, // TLS: starttls by default
		Username: "gatehouse", Password: gatehouse.NewSecret("correct-horse-battery"),
	}
	msg := notify.Message{To: []string{"alice@example.com"}, Subject: "over STARTTLS", Text: "hello"}
	if err := newSMTP(t, c).Send(timeout(t, 10*time.Second), msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := received(t, srv, 1); got.Subject != "over STARTTLS" || got.Username != "gatehouse" {
		t.Errorf("received %q from user %q", got.Subject, got.Username)
	}

	t.Run("wrong password", func(t *testing.T) {
		const wrong = "wrong-password-7Qx"
		c := c
		c.Password = gatehouse.NewSecret(wrong)
		err := newSMTP(t, c).Send(timeout(t, 10*time.Second), msg)
		if err == nil {
			t.Fatal("Send with a wrong password succeeded")
		}
		t.Logf("wrong password: %v", err)
		if !notify.Permanent(err) {
			t.Errorf("Permanent(%v) = false, want true", err)
		}
		for _, leak := range []string{wrong, base64.StdEncoding.EncodeToString([]byte("\x00gatehouse\x00" + wrong))} {
			for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
				if strings.Contains(text, leak) {
					t.Errorf("the error shows the password: %s", text)
				}
			}
		}
	})
	t.Run("certificate verified by default", func(t *testing.T) {
		c := c
		c.SkipVerify = false
		err := newSMTP(t, c).Send(timeout(t, 10*time.Second), msg)
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("Send to a self-signed server = %v, want a certificate error", err)
		}
	})
	if n := count(t, srv); n != 1 {
		t.Errorf("the server holds %d messages, want only the first", n)
	}
}

func TestSMTPStartTLSRequiredRefusesClearText(t *testing.T) {
	t.Parallel()
	srv := mailpit.Start(t, mailpit.Options{}) // offers no STARTTLS
	s := newSMTP(t, notify.SMTPConfig{Host: srv.SMTPHost, Port: srv.SMTPPort, TLS: "starttls", From: from})
	err := s.Send(timeout(t, 10*time.Second), notify.Message{To: []string{"alice@example.com"}, Text: "secret plans"})
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("Send = %v, want an error about STARTTLS", err)
	}
	t.Logf("no STARTTLS: %v", err)
	if n := count(t, srv); n != 0 {
		t.Errorf("%d messages were sent in clear", n)
	}
}

func TestSMTPImplicitTLSWithAuth(t *testing.T) {
	t.Parallel()
	srv := mailpit.Start(t, mailpit.Options{TLS: true, Username: "ops", Password: "s3cret-pass"})
	s := newSMTP(t, notify.SMTPConfig{
		Host: srv.SMTPHost, Port: srv.SMTPPort, TLS: "tls", SkipVerify: true, From: from,
		Username: "ops", Password: gatehouse.NewSecret("s3cret-pass"),
	})
	if err := s.Send(timeout(t, 10*time.Second), notify.Message{To: []string{"alice@example.com"}, Subject: "over TLS", Text: "hi"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := received(t, srv, 1); got.Subject != "over TLS" || got.Username != "ops" {
		t.Errorf("received %q from user %q", got.Subject, got.Username)
	}
}

func TestSMTPRejectionsArePermanentOnlyFor5xx(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		chaos     string
		permanent bool
	}{
		{"Recipient:550:100", true},
		{"Sender:553:100", true},
		{"Recipient:451:100", false},
		{"Sender:421:100", false},
	} {
		t.Run(tc.chaos, func(t *testing.T) {
			t.Parallel()
			srv := mailpit.Start(t, mailpit.Options{Chaos: tc.chaos})
			s := newSMTP(t, notify.SMTPConfig{Host: srv.SMTPHost, Port: srv.SMTPPort, TLS: "none", From: from})
			err := s.Send(timeout(t, 10*time.Second), notify.Message{To: []string{"alice@example.com"}, Text: "hi"})
			if err == nil {
				t.Fatal("Send succeeded")
			}
			t.Logf("%s: %v", tc.chaos, err)
			if notify.Permanent(err) != tc.permanent {
				t.Errorf("Permanent(%v) = %v, want %v", err, !tc.permanent, tc.permanent)
			}
		})
	}
}

func TestSMTPUnreachableIsNotPermanent(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // nothing listens there now
	s := newSMTP(t, notify.SMTPConfig{Host: "127.0.0.1", Port: port, TLS: "none", From: from, Timeout: 2 * time.Second})
	err = s.Send(timeout(t, 10*time.Second), notify.Message{To: []string{"alice@example.com"}, Text: "hi"})
	if err == nil {
		t.Fatal("Send to a closed port succeeded")
	}
	t.Logf("closed port: %v", err)
	if notify.Permanent(err) {
		t.Errorf("Permanent(%v) = true, want false", err)
	}
}

// A server that accepts connections and never greets: the context ends the exchange, even
// though the Timeout is long.
func TestSMTPContextBoundsTheExchange(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		var conns []net.Conn
		for {
			c, err := l.Accept()
			if err != nil {
				break
			}
			conns = append(conns, c) // held open, silent
		}
		for _, c := range conns {
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close(); <-accepted })
	s := newSMTP(t, notify.SMTPConfig{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, TLS: "none", From: from, Timeout: time.Minute})
	msg := notify.Message{To: []string{"alice@example.com"}, Text: "hi"}

	for name, want := range map[string]error{"deadline": context.DeadlineExceeded, "cancel": context.Canceled} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if name == "deadline" {
				ctx, cancel = context.WithTimeout(ctx, 200*time.Millisecond)
				defer cancel()
			} else {
				time.AfterFunc(200*time.Millisecond, cancel)
			}
			start := time.Now()
			err := s.Send(ctx, msg)
			if !errors.Is(err, want) {
				t.Fatalf("Send = %v, want %v", err, want)
			}
			t.Logf("silent server: %v", err)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Send took %s after the context ended", d)
			}
			if notify.Permanent(err) {
				t.Errorf("Permanent(%v) = true, want false", err)
			}
		})
	}
}
