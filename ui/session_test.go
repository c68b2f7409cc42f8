package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/httpapi"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

// TestSessionExpiry: once a session outlives its lifetime, a page sends the person to sign
// in saying the session ended, a form is not carried out, and signing in again takes them
// back to the page they asked for.
func TestSessionExpiry(t *testing.T) { testdb.ForEach(t, sessionExpiry) }

func sessionExpiry(t *testing.T, engine string) {
	srv := testserver.Start(t, engine)
	srv.Person("alice")
	b := signInPages(t, srv, "alice", nil)
	if !strings.Contains(b.page("/ui/access/tokens"), "alice") {
		t.Fatal("the tokens page does not show who is signed in")
	}
	srv.Advance(httpapi.DefaultConfig.SessionTTL + time.Minute)

	resp, _ := b.read(b.c.Get(b.base + "/ui/access/tokens"))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/login?expired=1" {
		t.Fatalf("expired session on a page: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if page := b.page("/ui/login?expired=1"); !strings.Contains(page, "Your session ended") {
		t.Fatalf("the sign-in page does not say the session ended:\n%s", page)
	}
	status, _, to := b.submit("/ui/access/tokens", url.Values{"name": {"after-expiry"}})
	if status != http.StatusOK || !strings.HasPrefix(to, "/ui/login?") {
		t.Fatalf("form with an expired session: %d at %s", status, to)
	}

	// Signing in again from a page's redirect returns there; the form above made no token.
	resp, body := b.read(b.c.Get(b.base + "/ui/access/tokens"))
	next := resp.Header.Get("Location")
	if !strings.HasPrefix(next, "/ui/login?next=") {
		t.Fatalf("anonymous visit: %d → %q\n%s", resp.StatusCode, next, body)
	}
	_, form := b.get(next)
	resp, _ = b.send("/ui/login", url.Values{"username": {"alice"}, "password": {testserver.Password},
		"login_token": {field(t, form, "login_token")}, "next": {"/ui/access/tokens"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/access/tokens" {
		t.Fatalf("sign in again: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if page := b.page("/ui/access/tokens"); strings.Contains(page, "after-expiry") {
		t.Fatalf("the form sent with an expired session made a token:\n%s", page)
	}
}
