package ui_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/httpapi"
	"github.com/gatehousehq/gatehouse/internal/idp"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
	"github.com/gatehousehq/gatehouse/sso"
	"github.com/gatehousehq/gatehouse/ui"
)

const idpPassword = "idp-password-1"

// ssoWorld is a Gatehouse server offering single sign-on through a real OpenID Connect
// provider that knows the people given.
type ssoWorld struct {
	srv *testserver.Server
	idp *idp.Provider
}

func startSSO(t *testing.T, engine string, adjust func(*sso.Config), people ...idp.Person) *ssoWorld {
	t.Helper()
	w := &ssoWorld{}
	w.srv = testserver.StartSSO(t, engine, func(base string) ui.SingleSignOn {
		w.idp = idp.Start(t, base+"/ui/sso/callback", people...)
		cfg := sso.Config{Name: "Example ID", Issuer: w.idp.Issuer, ClientID: w.idp.ClientID, ClientSecret: gatehouse.NewSecret(w.idp.ClientSecret),
			RedirectURL: base + "/ui/sso/callback", GroupsClaim: "groups", CreateUsers: true}
		if adjust != nil {
			adjust(&cfg)
		}
		p, err := sso.New(cfg)
		if err != nil {
			t.Fatalf("sso.New: %v", err)
		}
		return p
	})
	return w
}

// signOn walks a fresh browser-like client through single sign-on as username and returns
// the final status and page.
func (w *ssoWorld) signOn(t *testing.T, username string) (int, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	resp, body := w.idp.SignIn(t, &http.Client{Jar: jar}, w.srv.URL+"/ui/sso/start?next="+url.QueryEscape("/ui/approvals"), username, idpPassword)
	return resp.StatusCode, body
}

func (w *ssoWorld) user(t *testing.T, name string) *gatehouse.User {
	t.Helper()
	var u gatehouse.User
	if err := w.srv.Admin.Do(context.Background(), "GET", "/api/v1/users/"+name, nil, nil, &u); err != nil {
		t.Fatalf("user %s: %v", name, err)
	}
	return &u
}

func (w *ssoWorld) audit(t *testing.T, action string) []gatehouse.AuditEvent {
	t.Helper()
	var out httpapi.List[gatehouse.AuditEvent]
	if err := w.srv.Admin.Do(context.Background(), "GET", "/api/v1/audit", url.Values{"action": {action}}, nil, &out); err != nil {
		t.Fatal(err)
	}
	return out.Items
}

var carol = idp.Person{ID: "sub-carol", Username: "Carol.Smith", Password: idpPassword, Email: "carol@example.com", EmailVerified: true,
	FirstName: "Carol", LastName: "Smith", Groups: []string{"approvers", "not-in-gatehouse"}}

// TestSSOSignInCreatesLinksAndSyncs signs a new person in through the provider on both
// databases: the first sign-in creates a user with no roles, named after the preferred user
// name, linked to the provider's subject, a member of the existing groups the claim names;
// the next sign-in is the same user, and a group the claim no longer names is left.
func TestSSOSignInCreatesLinksAndSyncs(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		w := startSSO(t, engine, func(c *sso.Config) { c.SyncGroups = true }, carol)
		w.srv.Setup(testserver.Post("/api/v1/groups", gatehouse.GroupCreate{Name: "approvers"}),
			testserver.Post("/api/v1/groups", gatehouse.GroupCreate{Name: "auditors"}))
		w.srv.Setup(testserver.Put("/api/v1/groups/auditors/members/admin", nil))

		status, page := w.signOn(t, "Carol.Smith")
		if status != http.StatusOK || !strings.Contains(page, `carol.smith`) || !strings.Contains(page, "Approvals") {
			t.Fatalf("after single sign-on: %d\n%s", status, page)
		}
		u := w.user(t, "carol.smith")
		if u.Email != "carol@example.com" || u.DisplayName != "Carol Smith" || strings.Join(u.Groups, ",") != "approvers" {
			t.Fatalf("created user: %+v", u)
		}
		if ev := w.audit(t, "user.link_identity"); len(ev) != 1 || !strings.Contains(string(ev[0].Details), `"how":"create"`) || ev[0].Actor != "carol.smith" {
			t.Fatalf("link audit: %+v", ev)
		}

		w.idp.SetGroups(carol.ID, []string{})
		if status, page := w.signOn(t, "Carol.Smith"); status != http.StatusOK || !strings.Contains(page, "carol.smith") {
			t.Fatalf("second sign-on: %d\n%s", status, page)
		}
		if u := w.user(t, "carol.smith"); len(u.Groups) != 0 {
			t.Fatalf("groups after the claim dropped them: %v", u.Groups)
		}
		if n := len(w.audit(t, "user.link_identity")); n != 1 {
			t.Fatalf("%d identity links after two sign-ins of one person, want 1", n)
		}
		if ev := w.audit(t, "auth.login"); !strings.Contains(string(ev[len(ev)-1].Details), `"method":"sso"`) {
			t.Fatalf("sign-in audit: %+v", ev[len(ev)-1])
		}
	})
}

// TestSSOLinksVerifiedEmailOnly: a provider account with the verified address of an existing
// user signs in as that user; one with an unverified copy of someone's address does not, and
// without user creation it is refused, audited, with a page that says what to do.
func TestSSOLinksVerifiedEmailOnly(t *testing.T) { testdb.ForEach(t, ssoLinksVerifiedEmailOnly) }

func ssoLinksVerifiedEmailOnly(t *testing.T, engine string) {
	dave := idp.Person{ID: "sub-dave", Username: "dave", Password: idpPassword, Email: "dave@example.com", EmailVerified: true}
	mallory := idp.Person{ID: "sub-mallory", Username: "mallory", Password: idpPassword, Email: "erin@example.com", EmailVerified: false}
	w := startSSO(t, engine, func(c *sso.Config) { c.CreateUsers = false }, dave, mallory)
	w.srv.Setup(testserver.Post("/api/v1/users", gatehouse.UserCreate{Name: "david", Email: "Dave@Example.com", Password: gatehouse.OutgoingSecret("a long enough password")}),
		testserver.Post("/api/v1/users", gatehouse.UserCreate{Name: "erin", Email: "erin@example.com", Password: gatehouse.OutgoingSecret("a long enough password")}))

	if status, page := w.signOn(t, "dave"); status != http.StatusOK || !strings.Contains(page, "david") {
		t.Fatalf("dave's sign-on: %d\n%s", status, page)
	}
	status, page := w.signOn(t, "mallory")
	if status != http.StatusUnauthorized || !strings.Contains(page, "no Gatehouse user for this single sign-on identity") || strings.Contains(page, "erin") {
		t.Fatalf("unverified address: %d\n%s", status, page)
	}
	if ev := w.audit(t, "auth.login_failed"); len(ev) != 1 || !strings.Contains(string(ev[0].Details), "sso") {
		t.Fatalf("refused sign-in audit: %+v", ev)
	}
	// A disabled user cannot come back through the provider.
	w.srv.Setup(testserver.Step{Method: "PATCH", Path: "/api/v1/users/david", Body: map[string]bool{"disabled": true}})
	if status, page := w.signOn(t, "dave"); status != http.StatusUnauthorized || !strings.Contains(page, "disabled") {
		t.Fatalf("disabled user's sign-on: %d\n%s", status, page)
	}
}

// TestSSORefusals: a domain outside the allowed ones, a callback with a forged state, the
// provider's refusal and an unknown code each land on the sign-in page saying why, with no
// session.
func TestSSORefusals(t *testing.T) { testdb.ForEach(t, ssoRefusals) }

func ssoRefusals(t *testing.T, engine string) {
	w := startSSO(t, engine, func(c *sso.Config) { c.EmailDomains = []string{"bank.example"} }, carol)
	status, page := w.signOn(t, "Carol.Smith")
	if status != http.StatusForbidden || !strings.Contains(page, "bank.example only") {
		t.Fatalf("foreign domain: %d\n%s", status, page)
	}
	// Each attempt starts for real (the cookie is set, the state known); the callback then
	// brings a forged state, the provider's refusal, or a code the provider never issued.
	for _, c := range []struct{ query, want string }{
		{"code=x&state=forged", "expired or was started in another browser"},
		{"error=access_denied&state=STATE", "the identity provider did not sign you in (access_denied)"},
		{"code=never-issued&state=STATE", "the provider did not accept the sign-in"},
	} {
		jar, _ := cookiejar.New(nil)
		client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Get(w.srv.URL + "/ui/sso/start")
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, resp)
		to, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || to.Query().Get("state") == "" || to.Query().Get("code_challenge_method") != "S256" || to.Query().Get("nonce") == "" {
			t.Fatalf("start sends the browser to %q: want state, nonce and an S256 code challenge", resp.Header.Get("Location"))
		}
		resp, err = client.Get(w.srv.URL + "/ui/sso/callback?" + strings.ReplaceAll(c.query, "STATE", to.Query().Get("state")))
		if err != nil {
			t.Fatal(err)
		}
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, c.want) || !strings.Contains(body, `id="username"`) || strings.Contains(body, "oauth2") {
			t.Fatalf("callback %s: %d\n%s", c.query, resp.StatusCode, body)
		}
	}
	if n := len(w.audit(t, "auth.login")); n != 0 { // the admin signed in for a token
		t.Fatalf("%d browser sign-ins recorded, want none", n)
	}
}

// TestSSOButtonOnlyWhenConfigured: the sign-in page offers the provider by name when single
// sign-on is configured, and not otherwise; its start address then says it is not configured.
func TestSSOButtonOnlyWhenConfigured(t *testing.T) { testdb.ForEach(t, ssoButtonOnlyWhenConfigured) }

func ssoButtonOnlyWhenConfigured(t *testing.T, engine string) {
	w := startSSO(t, engine, nil)
	if _, body := fetch(t, w.srv.URL+"/ui/login"); !strings.Contains(body, "Sign in with Example ID") {
		t.Fatalf("no SSO button:\n%s", body)
	}
	plain := testserver.Start(t, engine)
	if _, body := fetch(t, plain.URL+"/ui/login"); strings.Contains(body, "/ui/sso/start") {
		t.Fatalf("SSO button without SSO:\n%s", body)
	}
	if resp, body := fetch(t, plain.URL+"/ui/sso/start"); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "not configured") {
		t.Fatalf("start without SSO: %d\n%s", resp.StatusCode, body)
	}
}

func fetch(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return resp, readBody(t, resp)
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
