// Package notify delivers notifications: e-mail over SMTP and events to webhooks (JSON or
// Slack incoming-webhook payloads). It only transports; callers decide who is told what and
// build the content.
//
// Every error it returns says whether trying again can help: Permanent is true for failures
// that retrying cannot fix (a rejected message, a refused login, an invalid address or
// setting) and false for those that may pass later (an unreachable or overloaded server, a
// timeout). Errors never carry a password or a webhook secret.
package notify

import (
	"context"
	"errors"
	"net/textproto"

	"github.com/gatehousehq/gatehouse"
	"github.com/wneessen/go-mail"
)

// Message is an e-mail.
type Message struct {
	To      []string // addresses, "alice@example.com" or "Alice <alice@example.com>"
	Subject string   // one line
	Text    string   // plain-text body (required)
	HTML    string   // optional HTML alternative of Text
}

// Validate checks that the message can be sent: at least one recipient, each a valid address,
// a one-line subject and a text body. Its errors are *gatehouse.Error of kind invalid.
func (m Message) Validate() error {
	if len(m.To) == 0 {
		return gatehouse.Invalidf("to", "expected at least one recipient")
	}
	for _, to := range m.To {
		if _, err := parseAddress(to); err != nil {
			return gatehouse.Invalidf("to", "%q is not an e-mail address", to)
		}
	}
	if containsNewline(m.Subject) {
		return gatehouse.Invalidf("subject", "expected one line")
	}
	if m.Text == "" {
		return gatehouse.Invalidf("text", "expected a plain-text body")
	}
	return nil
}

// Mailer sends e-mail. Send returns once the server has accepted the message for every
// recipient, or with an error, for which Permanent tells whether to retry.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// permanentError marks a failure that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// StatusError is a webhook's answer outside 2xx.
type StatusError struct {
	Code int    // HTTP status code
	Body string // start of the answer's body, for diagnosis
}

// Error renders the status and the start of the body.
func (e *StatusError) Error() string {
	if e.Body == "" {
		return "webhook answered " + statusText(e.Code)
	}
	return "webhook answered " + statusText(e.Code) + ": " + e.Body
}

// Permanent reports whether err is a failure that retrying cannot fix: an SMTP reply in the
// 5xx range (a rejected sender, recipient or message, or a refused login), an invalid message
// or setting (a *gatehouse.Error of kind invalid), an SMTP server offering no way to log in
// safely, or a webhook answering 4xx other than 408 and 429. Connection failures, timeouts,
// cancellations, SMTP 4xx replies and webhook 5xx, 408 and 429 answers are not permanent, and
// neither is nil.
func Permanent(err error) bool {
	if err == nil {
		return false
	}
	if p := (*permanentError)(nil); errors.As(err, &p) {
		return true
	}
	if ge := (*gatehouse.Error)(nil); errors.As(err, &ge) {
		return ge.Kind == gatehouse.KindInvalid
	}
	if se := (*StatusError)(nil); errors.As(err, &se) {
		return se.Code >= 400 && se.Code < 500 && se.Code != 408 && se.Code != 429
	}
	// go-mail's SendError keeps the server's reply but does not unwrap to it.
	if se := (*mail.SendError)(nil); errors.As(err, &se) {
		code := se.ErrorCode()
		return code >= 500 && code < 600
	}
	if te := (*textproto.Error)(nil); errors.As(err, &te) {
		return te.Code >= 500 && te.Code < 600
	}
	return false
}

// containsNewline reports whether s holds a line break, which would let it end a header.
func containsNewline(s string) bool {
	for _, r := range s {
		if r == '\r' || r == '\n' {
			return true
		}
	}
	return false
}
