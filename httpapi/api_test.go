package httpapi_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/httpapi"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

// send makes a request with a raw body and headers, and decodes an error answer.
func send(t *testing.T, method, url, body string, headers map[string]string) (*http.Response, httpapi.ErrorBody, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var eb httpapi.ErrorBody
	_ = json.Unmarshal(raw, &eb)
	return resp, eb, raw
}

func TestBadInputIsExplained(t *testing.T) { testdb.ForEach(t, badInputIsExplained) }

func badInputIsExplained(t *testing.T, engine string) {
	srv := testserver.Start(t, engine, func(c *httpapi.Config) { c.MaxBodyBytes = 4096 })
	tok := srv.Admin.Token
	h := map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
	cases := []struct {
		name, body string
		headers    map[string]string
		status     int
		field, msg string
	}{
		{"not json", `{"name": `, h, 400, "body", "not valid JSON"},
		{"empty", ``, h, 400, "body", "is empty"},
		{"unknown field", `{"name":"x","colour":"red"}`, h, 400, "colour", "not a known field"},
		{"wrong type", `{"name": 42}`, h, 400, "name", "expected a string"},
		{"two objects", `{"name":"x"} {"name":"y"}`, h, 400, "body", "single JSON object"},
		{"form post", `name=x`, map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/x-www-form-urlencoded"}, 400, "Content-Type", "application/json"},
		{"bad name", `{"name":"Not OK"}`, h, 400, "name", "not a valid name"},
		{"too large", `{"name":"x","description":"` + strings.Repeat("a", 5000) + `"}`, h, 413, "body", "larger than 4096 bytes"},
	}
	for _, c := range cases {
		resp, eb, raw := send(t, "POST", srv.URL+"/api/v1/projects", c.body, c.headers)
		if resp.StatusCode != c.status || eb.Error.Kind != gatehouse.KindInvalid || eb.Error.Field != c.field || !strings.Contains(eb.Error.Message, c.msg) {
			t.Errorf("%s: %d %s, want %d field %s %q", c.name, resp.StatusCode, raw, c.status, c.field, c.msg)
		}
		if eb.Error.RequestID == "" || eb.Error.RequestID != resp.Header.Get("X-Request-ID") {
			t.Errorf("%s: request id %q vs header %q", c.name, eb.Error.RequestID, resp.Header.Get("X-Request-ID"))
		}
	}
	if n := countProjects(t, srv); n != 0 {
		t.Fatalf("refused requests created %d projects", n)
	}
	resp, eb, _ := send(t, "GET", srv.URL+"/api/v1/projects", "", map[string]string{"Authorization": "Basic abc"})
	if resp.StatusCode != 401 || !strings.Contains(eb.Error.Message, "Bearer") || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("basic auth: %d %+v", resp.StatusCode, eb)
	}
	resp, eb, _ = send(t, "GET", srv.URL+"/api/v1/projects", "", map[string]string{"Authorization": "Bearer gth_nope"})
	if resp.StatusCode != 401 || eb.Error.Kind != gatehouse.KindUnauthenticated {
		t.Errorf("forged token: %d %+v", resp.StatusCode, eb)
	}
	resp, eb, _ = send(t, "DELETE", srv.URL+"/api/v1/tokens/abc", "", map[string]string{"Authorization": "Bearer " + tok})
	if resp.StatusCode != 400 || eb.Error.Field != "id" {
		t.Errorf("bad id: %d %+v", resp.StatusCode, eb)
	}
}

func countProjects(t *testing.T, srv *testserver.Server) int {
	var n int
	if err := srv.DB.Raw().QueryRow(`SELECT COUNT(*) FROM projects`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCSRFGuardsCookieSessions(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		w := &world{World: &testserver.World{Server: testserver.Start(t, engine)}, t: t}
		s := w.login("admin")
		body := `{"name":"shop"}`
		base := map[string]string{"Cookie": httpapi.SessionCookie + "=" + s.cookie, "Content-Type": "application/json"}
		resp, eb, _ := send(t, "POST", w.URL+"/api/v1/projects", body, base)
		if resp.StatusCode != 403 || !strings.Contains(eb.Error.Message, "CSRF") {
			t.Fatalf("no CSRF header: %d %+v", resp.StatusCode, eb)
		}
		base[httpapi.CSRFHeader] = "wrong"
		if resp, _, _ := send(t, "POST", w.URL+"/api/v1/projects", body, base); resp.StatusCode != 403 {
			t.Fatalf("wrong CSRF token: %d", resp.StatusCode)
		}
		base[httpapi.CSRFHeader] = s.csrf
		if resp, _, raw := send(t, "POST", w.URL+"/api/v1/projects", body, base); resp.StatusCode != 201 {
			t.Fatalf("right CSRF token: %d %s", resp.StatusCode, raw)
		}
		// Reads need no token; a bad session cookie is refused and cleared.
		delete(base, httpapi.CSRFHeader)
		if resp, _, _ := send(t, "GET", w.URL+"/api/v1/projects", "", base); resp.StatusCode != 200 {
			t.Fatalf("read with cookie: %d", resp.StatusCode)
		}
		resp, _, _ = send(t, "GET", w.URL+"/api/v1/projects", "", map[string]string{"Cookie": httpapi.SessionCookie + "=ghs_forged"})
		if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("Set-Cookie"), "Max-Age=0") {
			t.Fatalf("forged cookie: %d %q", resp.StatusCode, resp.Header.Get("Set-Cookie"))
		}
	})
}

func TestLoginIsRateLimited(t *testing.T) { testdb.ForEach(t, loginIsRateLimited) }

func loginIsRateLimited(t *testing.T, engine string) {
	srv := testserver.Start(t, engine, func(c *httpapi.Config) { c.LoginFailures = 3; c.LoginWindow = time.Hour })
	srv.Person("alice")
	login := func(user, pw string) (int, httpapi.ErrorBody) {
		b, _ := json.Marshal(map[string]string{"username": user, "password": pw})
		resp, eb, _ := send(t, "POST", srv.URL+"/api/v1/session", string(b), map[string]string{"Content-Type": "application/json"})
		return resp.StatusCode, eb
	}
	for i := 0; i < 3; i++ {
		if st, _ := login("alice", "wrong password"); st != 401 {
			t.Fatalf("attempt %d: %d", i, st)
		}
	}
	st, eb := login("alice", testserver.Password)
	if st != 429 || eb.Error.Kind != gatehouse.KindRateLimited || !strings.Contains(eb.Error.Message, "try again in") {
		t.Fatalf("after 3 failures the right password gets %d %+v, want 429", st, eb)
	}
	// Another user from the same address is not locked out by alice's failures.
	if st, _ := login("admin", testserver.Password); st != 201 {
		t.Fatalf("admin after alice's lockout: %d", st)
	}
	// The CLI's token login shares the limiter.
	b, _ := json.Marshal(map[string]string{"username": "alice", "password": testserver.Password, "name": "cli"})
	if resp, _, _ := send(t, "POST", srv.URL+"/api/v1/tokens/login", string(b), map[string]string{"Content-Type": "application/json"}); resp.StatusCode != 429 {
		t.Fatalf("token login during lockout: %d", resp.StatusCode)
	}
}

func TestInternalErrorsRevealNothing(t *testing.T) { testdb.ForEach(t, internalErrorsRevealNothing) }

func internalErrorsRevealNothing(t *testing.T, engine string) {
	srv := testserver.Start(t, engine)
	srv.DB.Close()
	resp, eb, raw := send(t, "GET", srv.URL+"/api/v1/projects", "", map[string]string{"Authorization": "Bearer " + srv.Admin.Token})
	if resp.StatusCode != 500 && resp.StatusCode != 401 {
		t.Fatalf("closed database: %d %s", resp.StatusCode, raw)
	}
	if eb.Error.Message != "internal error" || eb.Error.RequestID == "" || bytes.Contains(raw, []byte("sql")) {
		t.Fatalf("internal error answer: %s", raw)
	}
	if resp, _, _ := send(t, "GET", srv.URL+"/readyz", "", nil); resp.StatusCode != 500 {
		t.Fatalf("readyz with a closed database: %d", resp.StatusCode)
	}
}

func TestSecretsNeverLeaveTheServer(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		w := newWorld(t, engine)
		planted := testdb.KubeconfigToken
		for _, role := range matrixRoles {
			for _, e := range endpoints {
				if !strings.HasPrefix(e.pattern, "GET ") {
					continue
				}
				c := e.call(w, role)
				_, body := w.raw(w.sessions[role], c.method, c.path, nil)
				if bytes.Contains(body, []byte(planted)) || bytes.Contains(body, []byte("apiVersion")) {
					t.Errorf("%s %s returns the kubeconfig: %.200s", role, c.path, body)
				}
			}
		}
		_, body := w.raw(w.sessions["super-admin"], "GET", "/api/v1/audit?format=jsonl", nil)
		if bytes.Contains(body, []byte(planted)) || bytes.Contains(body, []byte(testserver.Password)) {
			t.Error("audit export carries a secret")
		}
		if !bytes.Contains(body, []byte(`"kubeconfig":"••• set"`)) {
			t.Errorf("audit does not record that a kubeconfig was set: %.300s", body)
		}
	})
}

func TestAuditExport(t *testing.T) { testdb.ForEach(t, auditExport) }

func auditExport(t *testing.T, engine string) {
	srv := testserver.Start(t, engine)
	ctx := t.Context()
	for _, p := range []string{"shop", "bank"} {
		srv.Must(srv.Admin.Do(ctx, "POST", "/api/v1/projects", nil, gatehouse.ProjectCreate{Name: p}, nil))
	}
	body, err := srv.Admin.Stream(ctx, "/api/v1/audit", map[string][]string{"format": {"jsonl"}, "project": {"shop"}})
	srv.Must(err)
	defer body.Close()
	sc := bufio.NewScanner(body)
	var lines []gatehouse.AuditEvent
	for sc.Scan() {
		var e gatehouse.AuditEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, e)
	}
	if len(lines) != 1 || lines[0].Project != "shop" || lines[0].Action != "project.create" || lines[0].Hash == "" {
		t.Fatalf("export = %+v", lines)
	}
	resp, eb, _ := send(t, "GET", srv.URL+"/api/v1/audit?since=yesterday", "", map[string]string{"Authorization": "Bearer " + srv.Admin.Token})
	if resp.StatusCode != 400 || eb.Error.Field != "since" || !strings.Contains(eb.Error.Message, "RFC 3339") {
		t.Fatalf("bad since: %d %+v", resp.StatusCode, eb)
	}
}

// TestAuditVerifyBodyIsOptional: verify answers callers that send no body as before, and checks
// a checkpoint when the body carries one.
func TestAuditVerifyBodyIsOptional(t *testing.T) { testdb.ForEach(t, auditVerifyBodyIsOptional) }

func auditVerifyBodyIsOptional(t *testing.T, engine string) {
	srv := testserver.Start(t, engine, func(c *httpapi.Config) { c.MaxBodyBytes = 4096 })
	auth := map[string]string{"Authorization": "Bearer " + srv.Admin.Token}
	h := map[string]string{"Authorization": auth["Authorization"], "Content-Type": "application/json"}
	forged := fmt.Sprintf(`{"checkpoint": {"seq": 1, "hash": "%s", "time": "2026-11-27T10:00:00Z", "mac": "%[1]s"}}`, strings.Repeat("ab", 32))
	cases := []struct {
		name, body string
		headers    map[string]string
		status     int
		field, msg string
	}{
		{"no body", ``, auth, 200, "", ""},
		{"no checkpoint", `{}`, h, 200, "", ""},
		{"forged checkpoint", forged, h, 400, "checkpoint", "its seal does not match"},
		{"wrong type", `{"checkpoint": {"seq": "one"}}`, h, 400, "checkpoint.seq", "expected a number"},
		{"unknown field", `{"head": 1}`, h, 400, "head", "not a known field"},
		{"form post", `checkpoint=x`, map[string]string{"Authorization": auth["Authorization"], "Content-Type": "application/x-www-form-urlencoded"}, 400, "Content-Type", "application/json"},
		{"too large", `{"checkpoint": {"hash": "` + strings.Repeat("a", 5000) + `"}}`, h, 413, "body", "larger than 4096 bytes"},
	}
	for _, c := range cases {
		resp, eb, raw := send(t, "POST", srv.URL+"/api/v1/audit/verify", c.body, c.headers)
		if c.status == 200 {
			var rep gatehouse.AuditReport
			if resp.StatusCode != 200 || json.Unmarshal(raw, &rep) != nil || !rep.OK || rep.Checkpoint != nil {
				t.Errorf("%s: %d %s, want an intact chain", c.name, resp.StatusCode, raw)
			}
			continue
		}
		if resp.StatusCode != c.status || eb.Error.Kind != gatehouse.KindInvalid || eb.Error.Field != c.field || !strings.Contains(eb.Error.Message, c.msg) {
			t.Errorf("%s: %d %s, want %d field %s %q", c.name, resp.StatusCode, raw, c.status, c.field, c.msg)
		}
	}
}

func TestSourceAddressFromTrustedProxiesOnly(t *testing.T) {
	testdb.ForEach(t, sourceAddressFromTrustedProxiesOnly)
}

func sourceAddressFromTrustedProxiesOnly(t *testing.T, engine string) {
	for _, trusted := range []bool{false, true} {
		srv := testserver.Start(t, engine, func(c *httpapi.Config) {
			if trusted {
				c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
			}
		})
		h := map[string]string{"Authorization": "Bearer " + srv.Admin.Token, "Content-Type": "application/json", "X-Forwarded-For": "203.0.113.9, 127.0.0.1"}
		if resp, _, raw := send(t, "POST", srv.URL+"/api/v1/projects", `{"name":"p"}`, h); resp.StatusCode != 201 {
			t.Fatalf("%d %s", resp.StatusCode, raw)
		}
		var ip string
		if err := srv.DB.Raw().QueryRow(`SELECT source_ip FROM audit_events WHERE action = 'project.create'`).Scan(&ip); err != nil {
			t.Fatal(err)
		}
		want := "127.0.0.1"
		if trusted {
			want = "203.0.113.9"
		}
		if ip != want {
			t.Errorf("trusted=%v: source ip %q, want %q", trusted, ip, want)
		}
	}
}
