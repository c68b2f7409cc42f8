package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/httpapi"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

const (
	digest1    = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	kubeconfig = testdb.Kubeconfig
)

// Roles of the matrix: everyone bound on project:shop, but super-admin (on "*"), "nobody"
// (signed in, no bindings) and "anonymous" (no credentials).
var matrixRoles = []string{"anonymous", "nobody", "viewer", "deployer", "image-approver", "config-approver", "admin", "access-manager", "super-admin"}

// world is a server with project shop (cluster c1, environments dev and prod, app web with a
// pipeline and an artifact), a service account ci, and one browser session per role.
type world struct {
	t        *testing.T
	srv      *testserver.Server
	sessions map[string]*session
	n        atomic.Int64
}

type session struct{ cookie, csrf string }

func (w *world) admin(method, path string, body any) {
	w.t.Helper()
	if err := w.srv.Admin.Do(context.Background(), method, path, nil, body, nil); err != nil {
		w.t.Fatalf("setup %s %s: %v", method, path, err)
	}
}

// userOf names the user who holds a role in the matrix.
func userOf(role string) string { return "as-" + role }

func (w *world) unique(prefix string) string { return fmt.Sprintf("%s-%d", prefix, w.n.Add(1)) }

// openRequest pushes a new artifact and raises an approval request for it on prod, as the
// role's user when it may request and as the super-admin otherwise; it returns the request.
func (w *world) openRequest(role string) int64 {
	w.t.Helper()
	d := digestN(9000 + w.n.Add(1))
	w.admin("POST", "/api/v1/projects/shop/apps/web/artifacts", gatehouse.ArtifactCreate{Image: "r.example.com/web@" + d})
	s := w.sessions["super-admin"]
	if slices.Contains(pushers, role) {
		s = w.sessions[role]
	}
	resp, body := w.raw(s, "POST", "/api/v1/projects/shop/apps/web/approvals", gatehouse.ApprovalCreate{Environment: "prod", Digest: d})
	var r gatehouse.ApprovalRequest
	if err := json.Unmarshal(body, &r); err != nil || resp.StatusCode != 201 {
		w.t.Fatalf("open request as %s: %d %s", role, resp.StatusCode, body)
	}
	return r.ID
}

func newWorld(t *testing.T, engine string) *world {
	w := &world{t: t, srv: testserver.Start(t, engine), sessions: map[string]*session{}}
	w.admin("POST", "/api/v1/projects", gatehouse.ProjectCreate{Name: "shop"})
	w.admin("POST", "/api/v1/clusters", gatehouse.ClusterCreate{Name: "c1", Kubeconfig: gatehouse.OutgoingSecret(kubeconfig)})
	for _, e := range []string{"dev", "prod"} {
		w.admin("POST", "/api/v1/projects/shop/environments", gatehouse.EnvironmentCreate{Name: e, Cluster: "c1", Namespace: "shop-" + e})
	}
	w.admin("POST", "/api/v1/projects/shop/apps", gatehouse.AppCreate{Name: "web"})
	w.admin("PUT", "/api/v1/projects/shop/apps/web/pipeline", gatehouse.PipelineSet{Stages: []gatehouse.Stage{{Environment: "dev"}, {Environment: "prod", After: "dev"}}})
	w.admin("POST", "/api/v1/projects/shop/apps/web/artifacts", gatehouse.ArtifactCreate{Image: "r.example.com/web@" + digest1})
	for _, env := range []string{"dev", "prod"} {
		w.admin("POST", "/api/v1/projects/shop/apps/web/deployments", gatehouse.DeploymentCreate{Environment: env, Digest: digest1})
	}
	// No worker runs here: mark the first deployment done so it can be rolled back to.
	if _, err := w.srv.DB.Raw().Exec(`UPDATE deployments SET state = 'succeeded' WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	// People get their roles before prod is gated: once it is, a role that votes there is
	// given only through an access draft.
	for _, role := range matrixRoles[1:] {
		switch role {
		case "nobody":
			w.srv.Person(userOf(role))
		case "super-admin":
			w.srv.Person(userOf(role), "super-admin@*")
		default:
			w.srv.Person(userOf(role), role+"@project:shop")
		}
		w.sessions[role] = w.login(userOf(role))
	}
	// prod is gated; approval request 1 waits there.
	w.admin("POST", "/api/v1/policies", gatehouse.PolicySpec{Name: "gate", Scope: "project:shop/env:prod", Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}})
	w.admin("POST", "/api/v1/policies", gatehouse.PolicySpec{Name: "spare", Scope: "project:shop/env:nowhere", Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}})
	w.admin("POST", "/api/v1/projects/shop/apps/web/approvals", gatehouse.ApprovalCreate{Environment: "prod", Digest: digest1})
	w.admin("POST", "/api/v1/users", gatehouse.UserCreate{Name: "ci", Kind: gatehouse.ServiceAccount})
	w.admin("POST", "/api/v1/users", gatehouse.UserCreate{Name: "loginuser", Password: gatehouse.OutgoingSecret(testserver.Password)})
	w.admin("POST", "/api/v1/groups", gatehouse.GroupCreate{Name: "sre"})
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
	req, err := http.NewRequest(method, w.srv.URL+path, rd)
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
	everyone    = matrixRoles
	signedIn    = matrixRoles[1:]
	inShop      = []string{"viewer", "deployer", "image-approver", "config-approver", "admin", "access-manager", "super-admin"}
	shopAdmins  = []string{"admin", "super-admin"}
	superAdmins = []string{"super-admin"}
	pushers     = []string{"deployer", "admin", "super-admin"}
	grantors    = []string{"access-manager", "super-admin"}
	directory   = []string{"admin", "access-manager", "super-admin"} // see every user and group
	creds       = gatehouse.Credentials{Name: "loginuser", Password: gatehouse.OutgoingSecret(testserver.Password)}
	staticCall  = func(method, path string, body any) func(*world, string) call {
		return func(*world, string) call { return call{method: method, path: path, body: body} }
	}
)

func digestN(n int64) string { return fmt.Sprintf("sha256:%064x", n) }

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
		for _, r := range w.srv.API.Routes() {
			if !slices.Contains(patterns, r) {
				t.Errorf("route %q is missing from the access matrix", r)
			}
		}
		if len(patterns) != len(w.srv.API.Routes()) {
			t.Errorf("matrix has %d endpoints, server %d routes", len(patterns), len(w.srv.API.Routes()))
		}
		// Session-ending calls go last, the password change very last.
		order := all
		slices.SortStableFunc(order, func(a, b endpoint) int { return rank(a) - rank(b) })
		for _, role := range matrixRoles {
			for _, e := range order {
				c := e.call(w, role)
				s := w.sessions[role]
				if c.fresh && s != nil {
					s = w.login(userOf(role))
				}
				before := w.auditCount()
				resp, body := w.raw(s, c.method, c.path, c.body)
				allowed := slices.Contains(e.allowed, role)
				switch {
				case allowed && gated[e.pattern]:
					if resp.StatusCode != http.StatusPreconditionFailed || !strings.Contains(string(body), "changes go through a draft") || w.auditCount() != before {
						t.Errorf("%s %s: %d %.300s, want 412 with nothing changed: the change goes through a draft", role, e.pattern, resp.StatusCode, body)
					}
				case allowed && resp.StatusCode >= 300:
					t.Errorf("%s %s: %d %.300s, want success", role, e.pattern, resp.StatusCode, body)
				case !allowed && !refused(role, resp.StatusCode):
					t.Errorf("%s %s: %d %.300s, want refusal", role, e.pattern, resp.StatusCode, body)
				case !allowed && c.method != "GET" && w.auditCount() != before:
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

func (w *world) auditCount() int {
	var n int
	if err := w.srv.DB.Raw().QueryRow(`SELECT COUNT(*) FROM audit_events WHERE action NOT LIKE 'auth.%'`).Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n
}
