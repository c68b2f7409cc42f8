package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gatehousehq/gatehouse/notify"
)

// request is what a webhook received.
type request struct {
	method string
	header http.Header
	body   []byte
}

// hook starts an HTTP server that records each request and answers it with status and body.
func hook(t *testing.T, status int, answer string) (*httptest.Server, <-chan request) {
	t.Helper()
	got := make(chan request, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- request{method: r.Method, header: r.Header.Clone(), body: body}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

var event = notify.Event{
	Kind:  "approval.requested",
	Title: "Approval requested: shop/web → prod",
	Text:  "alice asks to deploy 1.4.0",
	URL:   "https://gatehouse.example.com/projects/shop/apps/web/deployments/15",
	Fields: map[string]string{
		"project": "shop", "app": "web", "environment": "prod",
		"image": "registry.example.com/shop/web@sha256:0123", "requester": "alice",
	},
	Time: time.Date(2026, 7, 1, 12, 30, 0, 0, time.UTC),
}

func TestPostJSON(t *testing.T) {
	t.Parallel()
	srv, got := hook(t, http.StatusNoContent, "")
	if err := notify.Post(t.Context(), srv.Client(), notify.Webhook{URL: srv.URL + "/hook"}, event); err != nil {
		t.Fatalf("Post: %v", err)
	}
	r := <-got
	if r.method != http.MethodPost || r.header.Get("Content-Type") != "application/json" ||
		r.header.Get("X-Gatehouse-Event") != "approval.requested" || r.header.Get("User-Agent") != "gatehouse" {
		t.Errorf("request %s with headers %v", r.method, r.header)
	}
	if sig := r.header.Get("X-Gatehouse-Signature"); sig != "" {
		t.Errorf("signed without a secret: %q", sig)
	}
	var body struct {
		Kind, Title, Text, URL string
		Fields                 map[string]string
		Time                   time.Time
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	if body.Kind != event.Kind || body.Title != event.Title || body.Text != event.Text || body.URL != event.URL ||
		!body.Time.Equal(event.Time) || len(body.Fields) != 5 || body.Fields["image"] != event.Fields["image"] {
		t.Errorf("body = %s", r.body)
	}
	for _, key := range []string{`"kind"`, `"title"`, `"text"`, `"url"`, `"fields"`, `"time"`} {
		if !strings.Contains(string(r.body), key) {
			t.Errorf("body lacks %s: %s", key, r.body)
		}
	}
}

func TestPostSignsWithTheSecret(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"json", "slack"} {
		srv, got := hook(t, http.StatusOK, "ok")
		w := notify.Webhook{URL: srv.URL, Format: format, Secret: "hook-secret"}
		if err := notify.Post(t.Context(), srv.Client(), w, event); err != nil {
			t.Fatalf("Post %s: %v", format, err)
		}
		r := <-got
		mac := hmac.New(sha256.New, []byte("hook-secret"))
		mac.Write(r.body)
		want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		if sig := r.header.Get("X-Gatehouse-Signature"); !hmac.Equal([]byte(sig), []byte(want)) {
			t.Errorf("%s: signature %q, want %q", format, sig, want)
		}
	}
}

// slackBody is a Slack incoming-webhook message as Slack reads it.
type slackBody struct {
	Text   string `json:"text"`
	Blocks []struct {
		Type string `json:"type"`
		Text *struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"text"`
		Fields []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"fields"`
	} `json:"blocks"`
}

// postSlack posts e in the slack format and returns the decoded body, checked against Block
// Kit's rules: every block a section with a mrkdwn text of at most 3000 characters or 1 to 10
// mrkdwn fields of at most 2000, at most 50 blocks.
func postSlack(t *testing.T, e notify.Event) slackBody {
	t.Helper()
	srv, got := hook(t, http.StatusOK, "ok")
	if err := notify.Post(t.Context(), srv.Client(), notify.Webhook{URL: srv.URL, Format: "slack"}, e); err != nil {
		t.Fatalf("Post: %v", err)
	}
	r := <-got
	var b slackBody
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	if b.Text == "" || len(b.Blocks) == 0 || len(b.Blocks) > 50 {
		t.Fatalf("text %q, %d blocks", b.Text, len(b.Blocks))
	}
	for i, bl := range b.Blocks {
		switch {
		case bl.Type != "section":
			t.Errorf("block %d has type %q", i, bl.Type)
		case bl.Text != nil && (bl.Text.Type != "mrkdwn" || bl.Text.Text == "" || utf8.RuneCountInString(bl.Text.Text) > 3000):
			t.Errorf("block %d has text %+v", i, bl.Text)
		case bl.Text == nil && (len(bl.Fields) == 0 || len(bl.Fields) > 10):
			t.Errorf("block %d has %d fields", i, len(bl.Fields))
		}
		for _, f := range bl.Fields {
			if f.Type != "mrkdwn" || utf8.RuneCountInString(f.Text) > 2000 {
				t.Errorf("block %d has field %+v", i, f)
			}
		}
	}
	return b
}

func TestPostSlack(t *testing.T) {
	t.Parallel()
	b := postSlack(t, event)
	if !strings.Contains(b.Text, event.Title) {
		t.Errorf("text %q lacks the title", b.Text)
	}
	head := b.Blocks[0].Text.Text
	if !strings.HasPrefix(head, "*"+event.Title+"*\n"+event.Text) || !strings.Contains(head, "<"+event.URL+"|") {
		t.Errorf("first section = %q", head)
	}
	if len(b.Blocks) != 2 || len(b.Blocks[1].Fields) != 5 || b.Blocks[1].Fields[0].Text != "*app*\nweb" {
		t.Errorf("blocks = %+v", b.Blocks)
	}
}

func TestPostSlackKeepsToLimitsAndEscapes(t *testing.T) {
	t.Parallel()
	e := event
	e.Title = "<!here> & <https://evil.example|click>"
	e.Text = strings.Repeat("é&", 3000)
	e.Fields = map[string]string{}
	for i := range 23 {
		e.Fields[fmt.Sprintf("key%02d", i)] = strings.Repeat("v", 2500)
	}
	b := postSlack(t, e)
	head := b.Blocks[0].Text.Text
	if !strings.HasPrefix(head, "*&lt;!here&gt; &amp; &lt;https://evil.example|click&gt;*") {
		t.Errorf("title not escaped: %.80q", head)
	}
	if n := strings.Count(head, "&"); n != strings.Count(head, "&amp;")+strings.Count(head, "&lt;")+strings.Count(head, "&gt;") {
		t.Errorf("an escape was cut: …%q", head[len(head)-120:])
	}
	if !strings.HasSuffix(head, "<"+e.URL+"|Open in Gatehouse>") {
		t.Errorf("a long text cut off the link: …%q", head[len(head)-80:])
	}
	if len(b.Blocks) != 4 || len(b.Blocks[3].Fields) != 3 {
		t.Errorf("23 fields in %d blocks", len(b.Blocks))
	}
}

func TestPostAnswers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status    int
		permanent bool
	}{
		{http.StatusBadRequest, true},
		{http.StatusNotFound, true},
		{http.StatusRequestTimeout, false},
		{http.StatusTooManyRequests, false},
		{http.StatusInternalServerError, false},
		{http.StatusServiceUnavailable, false},
	} {
		srv, _ := hook(t, tc.status, "no_text "+strings.Repeat("x", 100<<10))
		// The path stands for the token in a Slack webhook URL: errors must not show it.
		err := notify.Post(t.Context(), srv.Client(), notify.Webhook{URL: srv.URL + "/services/T0/B0/TOKEN123"}, event)
		var se *notify.StatusError
		if !errors.As(err, &se) || se.Code != tc.status || !strings.HasPrefix(se.Body, "no_text") || len(se.Body) > 300 {
			t.Errorf("%d: Post = %v", tc.status, err)
			continue
		}
		if notify.Permanent(err) != tc.permanent {
			t.Errorf("%d: Permanent = %v, want %v", tc.status, !tc.permanent, tc.permanent)
		}
		if strings.Contains(err.Error(), "TOKEN123") {
			t.Errorf("%d: the error shows the URL's path: %v", tc.status, err)
		}
	}
}

func TestPostNeverAnswered(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	err := notify.Post(ctx, srv.Client(), notify.Webhook{URL: srv.URL}, event)
	if !errors.Is(err, context.DeadlineExceeded) || notify.Permanent(err) {
		t.Errorf("Post = %v (permanent %v), want a deadline error, not permanent", err, notify.Permanent(err))
	}
}

func TestPostUnreachableIsNotPermanent(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	err = notify.Post(t.Context(), nil, notify.Webhook{URL: "http://" + addr + "/hook"}, event)
	if err == nil || notify.Permanent(err) {
		t.Errorf("Post to a closed port = %v (permanent %v)", err, notify.Permanent(err))
	}
}
