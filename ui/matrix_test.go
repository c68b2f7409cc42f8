package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

// pageWorld is the access matrices' world (testserver.World, with its configuration part) and
// one browser per role, signed in through the sign-in form (anonymous's never signs in).
type pageWorld struct {
	*testserver.World
	t        *testing.T
	browsers map[string]*pageClient
}

func newPageWorld(t *testing.T, engine string) *pageWorld {
	w := &pageWorld{World: testserver.StartWorld(t, engine), t: t, browsers: map[string]*pageClient{}}
	w.AddConfig()
	w.browsers["anonymous"] = newPageClient(t, w.Server, nil)
	for _, role := range testserver.SignedIn {
		w.browsers[role] = w.signIn(role)
	}
	return w
}

// signIn is a new browser of the role signed in through the sign-in form (anonymous: signed in
// nowhere).
func (w *pageWorld) signIn(role string) *pageClient {
	if role == "anonymous" {
		return newPageClient(w.t, w.Server, nil)
	}
	return signInPages(w.t, w.Server, testserver.UserOf(role), nil)
}

// pageRoute is one entry of the pages' access matrix: a route the server mounts (and, where
// one route serves several things, which of them the entry tries), the roles that succeed —
// a page (200) or a redirect (303) anywhere but to sign in — and try, which makes what the
// request acts on (as the super-admin) and returns the request as the role. Everyone else is
// refused: anonymous visitors are sent to sign in (or get 401 or 404, as the page does),
// signed-in people get 403 or 404.
type pageRoute struct {
	pattern, variant string
	allowed          []string
	try              func(w *pageWorld, role string) request
}

// request is one request of a browser, made when called.
type request func() (*http.Response, string)

// getAs is a GET of the path with the role's browser.
func (w *pageWorld) getAs(role, path string) request {
	return func() (*http.Response, string) {
		b := w.browsers[role]
		return b.read(b.c.Get(b.base + path))
	}
}

// bearerAs is a GET of the path with the role's browser (its session cookie too) and
// "Authorization: Bearer token".
func (w *pageWorld) bearerAs(role, path, token string) request {
	return func() (*http.Response, string) {
		b := w.browsers[role]
		req, err := http.NewRequest(http.MethodGet, b.base+path, nil)
		if err != nil {
			w.t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		return b.read(b.c.Do(req))
	}
}

// postAs posts the form with the role's browser and its session's CSRF token, as the pages'
// forms do.
func (w *pageWorld) postAs(role, path string, form url.Values) request {
	return func() (*http.Response, string) { return w.browsers[role].post(path, form) }
}

func page(path string) func(*pageWorld, string) request {
	return func(w *pageWorld, role string) request { return w.getAs(role, path) }
}

func form(path string, f url.Values) func(*pageWorld, string) request {
	return func(w *pageWorld, role string) request { return w.postAs(role, path, f) }
}

// link mints a single-use approve link to the ballot for the role's user; anonymous holds
// one that was never sent.
func (w *pageWorld) link(flow gatehouse.BallotFlow, id int64, role string) string {
	if role == "anonymous" {
		return "/approve/" + map[gatehouse.BallotFlow]string{gatehouse.FlowRequest: gatehouse.ApprovalLinkPrefix,
			gatehouse.FlowDraft: gatehouse.DraftLinkPrefix}[flow] + "never-sent-" + w.Unique("x")
	}
	token, err := w.DB.CreateLink(context.Background(), flow, id, testserver.UserOf(role), time.Hour)
	if err != nil {
		w.t.Fatal(err)
	}
	return "/approve/" + token.Reveal()
}

// signInRedirect reports whether the answer sends the visitor to sign in first.
func signInRedirect(resp *http.Response) bool {
	to := resp.Header.Get("Location")
	return resp.StatusCode == http.StatusSeeOther && (strings.HasPrefix(to, "/ui/login?next=") || to == "/ui/login?expired=1")
}

func pageRefused(role string, resp *http.Response) bool {
	if role == "anonymous" {
		return signInRedirect(resp) || resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusNotFound
	}
	if resp.Request.URL.Path == "/metrics" {
		// The metrics ask for their own token, which no session is: 401 for everyone.
		return resp.StatusCode == http.StatusUnauthorized
	}
	return resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusNotFound
}

// TestPageAccessMatrix walks every role × every route the server mounts beside the API — the
// web UI's pages and forms and the approve links: the allowed succeed, the rest are refused,
// and a refused form leaves no trace in the audit trail. A route without an entry fails it.
func TestPageAccessMatrix(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		w := newPageWorld(t, engine)
		var patterns []string
		for _, p := range pageRoutes {
			if !slices.Contains(patterns, p.pattern) {
				patterns = append(patterns, p.pattern) // variants try one route several ways
			}
		}
		testserver.Covered(t, "pages' access matrix", w.API.Mounted(), patterns)
		for _, role := range testserver.Roles {
			for _, p := range pageRoutes {
				name := strings.TrimSpace(p.pattern + " " + p.variant)
				send := p.try(w, role)
				before := w.AuditCount()
				resp, body := send()
				allowed := slices.Contains(p.allowed, role)
				switch {
				case allowed && (resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusSeeOther || signInRedirect(resp)):
					t.Errorf("%s %s: %d → %q %.300s, want success", role, name, resp.StatusCode, resp.Header.Get("Location"), body)
				case !allowed && !pageRefused(role, resp):
					t.Errorf("%s %s: %d → %q %.300s, want refusal", role, name, resp.StatusCode, resp.Header.Get("Location"), body)
				case !allowed && !strings.HasPrefix(p.pattern, "GET ") && w.AuditCount() != before:
					t.Errorf("%s %s: refused but the audit trail grew", role, name)
				}
				if !allowed && resp.StatusCode == http.StatusForbidden && !strings.Contains(body, "needs role") &&
					!strings.Contains(body, "grants only roles") && !strings.Contains(body, "may not") {
					t.Errorf("%s %s: 403 without saying what is missing: %.500s", role, name, body)
				}
			}
		}
	})
}
