package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/httpapi"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

const (
	digest1    = testserver.Digest1
	kubeconfig = testdb.Kubeconfig
)

// The roles of the matrix and who may do what: shared with the pages' matrix (package ui).
var (
	matrixRoles = testserver.Roles
	everyone    = testserver.Everyone
	signedIn    = testserver.SignedIn
	inShop      = testserver.InShop
	shopAdmins  = testserver.ShopAdmins
	superAdmins = testserver.SuperAdmins
	pushers     = testserver.Pushers
	grantors    = testserver.Grantors
	directory   = testserver.Directory
)

// world is the matrices' world (testserver.World) with one browser session per role.
type world struct {
	*testserver.World
	t        *testing.T
	sessions map[string]*session
}

type session struct{ cookie, csrf string }

func newWorld(t *testing.T, engine string) *world {
	w := &world{World: testserver.StartWorld(t, engine), t: t, sessions: map[string]*session{}}
	for _, role := range matrixRoles[1:] {
		w.sessions[role] = w.login(testserver.UserOf(role))
	}
	return w
}

// login opens a browser session for the user.
func (w *world) login(user string) *session {
	w.t.Helper()
	resp, body := w.raw(nil, "POST", "/api/v1/session", gatehouse.Credentials{Name: user, Password: gatehouse.OutgoingSecret(testserver.Password)})
	if resp.StatusCode != http.StatusCreated {
		w.t.Fatalf("login %s: %d %s", user, resp.StatusCode, body)
	}
	var info httpapi.SessionInfo
	if err := json.Unmarshal(body, &info); err != nil {
		w.t.Fatal(err)
	}
	for _, c := range resp.Cookies() {
		if c.Name == httpapi.SessionCookie {
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
				w.t.Fatalf("session cookie flags: %+v", c)
			}
			return &session{cookie: c.Value, csrf: info.CSRFToken}
		}
	}
	w.t.Fatalf("login %s set no session cookie", user)
	return nil
}

// raw sends a request as the session (nil: anonymous) and returns the answer.
func (w *world) raw(s *session, method, path string, body any) (*http.Response, []byte) {
	w.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			w.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, w.URL+path, rd)
	if err != nil {
		w.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if s != nil {
		req.AddCookie(&http.Cookie{Name: httpapi.SessionCookie, Value: s.cookie})
		req.Header.Set(httpapi.CSRFHeader, s.csrf)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, out
}

// call is one request of an endpoint; setup runs as the super-admin first and may make what the
// request acts on (so deletions have something to delete each time).
type call struct {
	method, path string
	body         any
	fresh        bool // use a new session of the role (the call ends the session)
}

type endpoint struct {
	pattern string
	allowed []string // roles that succeed; everyone else is refused with 401, 403 or 404
	call    func(w *world, role string) call
}

var (
	creds      = gatehouse.Credentials{Name: "loginuser", Password: gatehouse.OutgoingSecret(testserver.Password)}
	staticCall = func(method, path string, body any) func(*world, string) call {
		return func(*world, string) call { return call{method: method, path: path, body: body} }
	}
)

// TestAccessMatrix walks every role × every endpoint: the allowed succeed, the rest are refused
// with 401 (anonymous), 403 or 404 — and a refused change leaves no trace in the audit trail.
func TestAccessMatrix(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		w := newWorld(t, engine)
		w.addConfig()
		all := append(slices.Clone(endpoints), configEndpoints...)
		var patterns []string
		for _, e := range all {
			patterns = append(patterns, e.pattern)
		}
		testserver.Covered(t, "access matrix", w.API.Routes(), patterns)
		// Session-ending calls go last, the password change very last.
		order := all
		slices.SortStableFunc(order, func(a, b endpoint) int { return rank(a) - rank(b) })
		for _, role := range matrixRoles {
			for _, e := range order {
				c := e.call(w, role)
				s := w.sessions[role]
				if c.fresh && s != nil {
					s = w.login(testserver.UserOf(role))
				}
				before := w.AuditCount()
				resp, body := w.raw(s, c.method, c.path, c.body)
				allowed := slices.Contains(e.allowed, role)
				switch {
				case allowed && gated[e.pattern]:
					if resp.StatusCode != http.StatusPreconditionFailed || !strings.Contains(string(body), "changes go through a draft") || w.AuditCount() != before {
						t.Errorf("%s %s: %d %.300s, want 412 with nothing changed: the change goes through a draft", role, e.pattern, resp.StatusCode, body)
					}
				case allowed && resp.StatusCode >= 300:
					t.Errorf("%s %s: %d %.300s, want success", role, e.pattern, resp.StatusCode, body)
				case !allowed && !refused(role, resp.StatusCode):
					t.Errorf("%s %s: %d %.300s, want refusal", role, e.pattern, resp.StatusCode, body)
				case !allowed && c.method != "GET" && w.AuditCount() != before:
					t.Errorf("%s %s: refused but the audit trail grew", role, e.pattern)
				}
				if !allowed && resp.StatusCode == 403 && !strings.Contains(string(body), "needs role") && !strings.Contains(string(body), "grants only roles") && !strings.Contains(string(body), "may not") {
					t.Errorf("%s %s: 403 without saying what is missing: %s", role, e.pattern, body)
				}
			}
		}
	})
}

// gated are the routes that, for those with the right, never change anything directly: they
// answer 412 and name the draft that carries such a change (see the bypass matrix).
var gated = map[string]bool{"DELETE /api/v1/policies/{name}": true}

func rank(e endpoint) int {
	switch e.pattern {
	case "DELETE /api/v1/session":
		return 1
	case "PUT /api/v1/me/password":
		return 2
	}
	return 0
}

func refused(role string, status int) bool {
	if role == "anonymous" {
		return status == http.StatusUnauthorized
	}
	return status == http.StatusForbidden || status == http.StatusNotFound
}
