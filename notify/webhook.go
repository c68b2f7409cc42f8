package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehousehq/gatehouse"
)

// The payload formats of Webhook.
const (
	FormatJSON  = "json"  // Event as JSON: {"kind","title","text","url","fields","time"}
	FormatSlack = "slack" // a Slack incoming-webhook message (text and Block Kit blocks)
)

// The headers of every webhook request.
const (
	HeaderEvent     = "X-Gatehouse-Event"     // the Event's Kind
	HeaderSignature = "X-Gatehouse-Signature" // "sha256=" + hex HMAC-SHA256 of the body, when a secret is set
)

// maxAnswer bounds how much of a webhook's answer is read.
const maxAnswer = 64 << 10

// Webhook is an HTTP endpoint told about events.
type Webhook struct {
	URL    string
	Format string // "json" (default) or "slack"
	Secret string // optional: signs each body in the X-Gatehouse-Signature header; never in errors
}

// Validate checks the webhook: an http or https URL with a host, and a known format. Its
// errors are *gatehouse.Error of kind invalid with Field "url" or "format".
func (w Webhook) Validate() error {
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return gatehouse.Invalidf("url", "%q is not a webhook address: expected an http:// or https:// URL with a host", redactURL(w.URL))
	}
	switch w.Format {
	case "", FormatJSON, FormatSlack:
	default:
		return gatehouse.Invalidf("format", "%q is not a webhook format: expected json or slack", w.Format)
	}
	return nil
}

// Event is what happened, for webhooks.
type Event struct {
	Kind   string            // e.g. "approval.requested"
	Title  string            // one line for people
	Text   string            // details for people
	URL    string            // link to the thing (optional)
	Fields map[string]string // key facts: project, app, environment, image, requester…
	Time   time.Time
}

// jsonEvent is the body of the json format.
type jsonEvent struct {
	Kind   string            `json:"kind"`
	Title  string            `json:"title"`
	Text   string            `json:"text"`
	URL    string            `json:"url"`
	Fields map[string]string `json:"fields"`
	Time   time.Time         `json:"time"`
}

// Post sends e to the webhook in its format and returns nil once the webhook has answered
// 2xx. The request carries the headers X-Gatehouse-Event (e.Kind), User-Agent "gatehouse" and,
// when w.Secret is set, X-Gatehouse-Signature. ctx bounds the request; at most 64 KiB of the
// answer is read. Other answers are a *StatusError: Permanent is true for 4xx except 408 and
// 429. A nil client means http.DefaultClient.
func Post(ctx context.Context, client *http.Client, w Webhook, e Event) error {
	if err := w.Validate(); err != nil {
		return err
	}
	if client == nil {
		client = http.DefaultClient
	}
	body, err := payload(w.Format, e)
	if err != nil {
		return fmt.Errorf("notify: webhook payload: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("notify: webhook %s: %w", redactURL(w.URL), err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "gatehouse")
	req.Header.Set(HeaderEvent, e.Kind)
	if w.Secret != "" {
		req.Header.Set(HeaderSignature, Sign(w.Secret, body))
	}
	resp, err := client.Do(req)
	if err != nil {
		// The *url.Error names the URL, which may hold a token (Slack's do): say it once, redacted.
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("notify: webhook %s: %w", redactURL(w.URL), err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("notify: webhook %s: %w", redactURL(w.URL), &StatusError{Code: resp.StatusCode, Body: summary(answer)})
	}
	return nil
}

// Sign returns the X-Gatehouse-Signature of body under secret: "sha256=" and the hex
// HMAC-SHA256. Receivers recompute it over the raw body and compare with hmac.Equal.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// payload encodes e in the format.
func payload(format string, e Event) ([]byte, error) {
	if format == FormatSlack {
		return json.Marshal(slackMessage(e))
	}
	fields := e.Fields
	if fields == nil {
		fields = map[string]string{}
	}
	return json.Marshal(jsonEvent{Kind: e.Kind, Title: e.Title, Text: e.Text, URL: e.URL, Fields: fields, Time: e.Time})
}

// redactURL is u without its path, query and credentials, which may hold a token: webhook
// URLs are secrets of their own (anyone who knows a Slack one can post to the channel).
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return "(invalid URL)"
	}
	if p.Path == "" && p.RawQuery == "" && p.User == nil {
		return p.Scheme + "://" + p.Host
	}
	return p.Scheme + "://" + p.Host + "/…"
}

// summary is the start of a webhook's answer, on one line, for errors.
func summary(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return s
}

// statusText renders an HTTP status code with its name.
func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return strconv.Itoa(code) + " " + t
	}
	return strconv.Itoa(code)
}
