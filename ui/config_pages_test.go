package ui_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

// cfgBrowser is a person signed in through the sign-in page, with the session's CSRF token.
type cfgBrowser struct {
	t     *testing.T
	base  string
	c     *http.Client
	csrf  string
	pages *[]string // every page any browser saw, to search for secrets
}

var (
	cfgLoginToken = regexp.MustCompile(`name="login_token" value="([^"]+)"`)
	cfgCSRFToken  = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
)

func cfgLogin(t *testing.T, srv *testserver.Server, name string, pages *[]string) *cfgBrowser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &cfgBrowser{t: t, base: srv.URL, c: &http.Client{Jar: jar}, pages: pages}
	_, login := b.get("/ui/login")
	m := cfgLoginToken.FindStringSubmatch(login)
	if m == nil {
		t.Fatalf("no login_token on the sign-in page:\n%s", login)
	}
	status, home := b.send("/ui/login", url.Values{"username": {name}, "password": {testserver.Password}, "login_token": {m[1]}})
	if c := cfgCSRFToken.FindStringSubmatch(home); status != 200 || c == nil {
		t.Fatalf("sign in as %s: %d\n%s", name, status, home)
	} else {
		b.csrf = c[1]
	}
	return b
}

func (b *cfgBrowser) read(resp *http.Response, err error) (int, string) {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	*b.pages = append(*b.pages, string(body))
	return resp.StatusCode, string(body)
}

func (b *cfgBrowser) get(path string) (int, string) {
	b.t.Helper()
	return b.read(b.c.Get(b.base + path))
}

// page GETs a page that must render.
func (b *cfgBrowser) page(path string) string {
	b.t.Helper()
	status, body := b.get(path)
	if status != 200 {
		b.t.Fatalf("GET %s: %d\n%s", path, status, body)
	}
	return body
}

// send POSTs a form as is (following the redirect after it).
func (b *cfgBrowser) send(path string, form url.Values) (int, string) {
	b.t.Helper()
	return b.read(b.c.PostForm(b.base+path, form))
}

// post POSTs a form with the CSRF token; it returns the status, the page and where it ended.
func (b *cfgBrowser) post(path string, form url.Values) (int, string, string) {
	b.t.Helper()
	form.Set("csrf_token", b.csrf)
	resp, err := b.c.PostForm(b.base+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	status, body := b.read(resp, nil)
	return status, body, resp.Request.URL.RequestURI()
}

func cfgLive(t *testing.T, srv *testserver.Server, env string, kind gatehouse.ConfigKind) string {
	t.Helper()
	var c gatehouse.Config
	srv.Must(srv.Admin.Do(context.Background(), "GET", "/api/v1/projects/shop/apps/web/environments/"+env+"/config/"+string(kind), nil, nil, &c))
	return c.Content
}

func cfgDraft(t *testing.T, srv *testserver.Server, id int64) gatehouse.ConfigDraft {
	t.Helper()
	var d gatehouse.ConfigDraft
	srv.Must(srv.Admin.Do(context.Background(), "GET", fmt.Sprintf("/api/v1/drafts/%d", id), nil, nil, &d))
	return d
}

// TestConfigPages walks the configuration pages as people do, with plain HTTP: a direct save
// of an unprotected configmap, a refused one that keeps the text, a protected change that
// becomes a draft, its approval by someone else and its publication by its author, a form
// without the CSRF token refused; and no page ever shows a secret value.
func TestConfigPages(t *testing.T) {
	const planted = "planted-secret-value-8812"
	srv := testserver.Start(t, "sqlite")
	ctx := context.Background()
	for _, st := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/v1/projects", gatehouse.ProjectCreate{Name: "shop"}},
		{"POST", "/api/v1/clusters", gatehouse.ClusterCreate{Name: "k", Kubeconfig: gatehouse.OutgoingSecret(fakeKubeconfig)}},
		{"POST", "/api/v1/projects/shop/environments", gatehouse.EnvironmentCreate{Name: "dev", Cluster: "k", Namespace: "shop-dev"}},
		{"POST", "/api/v1/projects/shop/environments", gatehouse.EnvironmentCreate{Name: "prod", Cluster: "k", Namespace: "shop"}},
		{"POST", "/api/v1/projects/shop/apps", gatehouse.AppCreate{Name: "web"}},
		{"POST", "/api/v1/policies", gatehouse.PolicySpec{Name: "prod-config", Kind: gatehouse.PolicyConfig, Scope: "project:shop/env:prod",
			Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}}},
		{"PUT", "/api/v1/projects/shop/apps/web/environments/dev/config/secrets", gatehouse.ConfigWrite{Content: "DB_PASSWORD: " + planted + "\n"}},
	} {
		srv.Must(srv.Admin.Do(ctx, st.method, st.path, nil, st.body, nil))
	}
	srv.Person("alice", "admin@project:shop")
	srv.Person("bob", "config-approver@project:shop")
	var pages []string
	alice := cfgLogin(t, srv, "alice", &pages)
	bob := cfgLogin(t, srv, "bob", &pages)

	overview := alice.page("/ui/projects/shop/apps/web/config")
	for _, want := range []string{"dev", "prod", "prod-config", "DB_PASSWORD", "config/edit?env=dev&amp;kind=configmap", "compare"} {
		if !strings.Contains(overview, want) {
			t.Fatalf("overview lacks %q:\n%s", want, overview)
		}
	}
	alice.page("/ui/projects/shop/apps/web/config/compare?from=dev&to=prod")
	alice.page("/ui/projects/shop/apps/web/config/edit?env=dev&kind=secrets")
	if empty := alice.page("/ui/drafts"); !strings.Contains(empty, "No open drafts") {
		t.Fatalf("drafts page without drafts:\n%s", empty)
	}

	// Unprotected: saved at once.
	if page := alice.page("/ui/projects/shop/apps/web/config/edit?env=dev&kind=configmap"); !strings.Contains(page, ">Save<") {
		t.Fatalf("edit page of dev configmap:\n%s", page)
	}
	edit := "/ui/projects/shop/apps/web/config/edit"
	status, page, _ := alice.post(edit, url.Values{"env": {"dev"}, "kind": {"configmap"}, "content": {"LOG_LEVEL: debug\n"}, "comment": {"louder"}})
	if status != 200 || !strings.Contains(page, "Saved shop/web dev configmap") {
		t.Fatalf("save dev configmap: %d\n%s", status, page)
	}
	if got := cfgLive(t, srv, "dev", gatehouse.ConfigMapData); got != "LOG_LEVEL: debug\n" {
		t.Fatalf("dev configmap after saving: %q", got)
	}

	// Invalid: the form comes back with the text and why.
	bad := "LOG_LEVEL: [debug & <more>\n"
	status, page, _ = alice.post(edit, url.Values{"env": {"dev"}, "kind": {"configmap"}, "content": {bad}})
	if status != 400 || !strings.Contains(page, html.EscapeString(bad)) || !strings.Contains(page, "not valid YAML") || !strings.Contains(page, `id="content-error"`) {
		t.Fatalf("invalid content: %d\n%s", status, page)
	}
	if got := cfgLive(t, srv, "dev", gatehouse.ConfigMapData); got != "LOG_LEVEL: debug\n" {
		t.Fatalf("invalid content changed the configmap: %q", got)
	}

	// Without the CSRF token: refused, nothing changes.
	status, page = alice.send(edit, url.Values{"env": {"dev"}, "kind": {"configmap"}, "content": {"LOG_LEVEL: hacked\n"}})
	if status != 403 {
		t.Fatalf("POST without csrf_token: %d\n%s", status, page)
	}
	if got := cfgLive(t, srv, "dev", gatehouse.ConfigMapData); got != "LOG_LEVEL: debug\n" {
		t.Fatalf("a POST without csrf_token changed the configmap: %q", got)
	}

	// Protected: saving creates a draft.
	if page := alice.page("/ui/projects/shop/apps/web/config/edit?env=prod&kind=configmap"); !strings.Contains(page, "protected by prod-config") || !strings.Contains(page, "Create draft") {
		t.Fatalf("edit page of prod configmap:\n%s", page)
	}
	status, page, at := alice.post(edit, url.Values{"env": {"prod"}, "kind": {"configmap"}, "content": {"LOG_LEVEL: info\n"}, "comment": {"first"}})
	var id int64
	if _, err := fmt.Sscanf(at, "/ui/drafts/%d", &id); err != nil || status != 200 || !strings.Contains(page, "created") {
		t.Fatalf("draft of prod configmap: %d at %s\n%s", status, at, page)
	}
	if d := cfgDraft(t, srv, id); d.State != gatehouse.DraftOpen || d.Author != "alice" {
		t.Fatalf("draft: %s by %s", d.State, d.Author)
	}
	if got := cfgLive(t, srv, "prod", gatehouse.ConfigMapData); strings.Contains(got, "LOG_LEVEL") {
		t.Fatalf("a draft changed the live prod configmap: %q", got)
	}
	if page := alice.page("/ui/projects/shop/apps/web/config/edit?env=prod&kind=configmap"); !strings.Contains(page, fmt.Sprintf(`href="/ui/drafts/%d"`, id)) || strings.Contains(page, "Create draft") {
		t.Fatalf("edit page with a draft open:\n%s", page)
	}

	// Edit the draft; an edit from an old version is refused and keeps its text.
	draft := fmt.Sprintf("/ui/drafts/%d", id)
	status, page, _ = alice.post(draft+"/edit", url.Values{"base_version": {"1"}, "content": {"LOG_LEVEL: warn\n"}, "comment": {"quieter"}})
	if status != 200 || cfgDraft(t, srv, id).Version != 2 {
		t.Fatalf("edit draft: %d\n%s", status, page)
	}
	status, page, _ = alice.post(draft+"/edit", url.Values{"base_version": {"1"}, "content": {"LOG_LEVEL: stale-edit\n"}})
	if status != 409 || !strings.Contains(page, "draft changed, reload") || !strings.Contains(page, "Reload the draft") || !strings.Contains(page, "stale-edit") {
		t.Fatalf("stale edit: %d\n%s", status, page)
	}
	alice.post(draft+"/comment", url.Values{"text": {"ready for review"}})
	status, page, _ = alice.post(draft+"/propose", url.Values{"notify": {"bob"}, "comment": {"please"}})
	if status != 200 || cfgDraft(t, srv, id).State != gatehouse.DraftProposed {
		t.Fatalf("propose: %d\n%s", status, page)
	}

	// The author gets no approve button; the approver does and approves.
	approve := fmt.Sprintf(`action="/ui/drafts/%d/approve"`, id)
	if page := alice.page(draft); strings.Contains(page, approve) || !strings.Contains(page, "ready for review") || !strings.Contains(page, "LOG_LEVEL") {
		t.Fatalf("author's draft page:\n%s", page)
	}
	if waiting := bob.page("/ui/drafts"); !strings.Contains(waiting, fmt.Sprintf(`href="/ui/drafts/%d"`, id)) {
		t.Fatalf("bob's drafts page:\n%s", waiting)
	}
	if page := bob.page(draft); !strings.Contains(page, approve) || !strings.Contains(page, "prod-config") {
		t.Fatalf("approver's draft page:\n%s", page)
	}
	if status, page, _ = bob.post(draft+"/reject", url.Values{"comment": {""}}); status != 400 || cfgDraft(t, srv, id).State != gatehouse.DraftProposed {
		t.Fatalf("reject without a comment: %d\n%s", status, page)
	}
	status, page, _ = bob.post(draft+"/approve", url.Values{"comment": {"fine"}})
	if d := cfgDraft(t, srv, id); status != 200 || d.State != gatehouse.DraftApproved || len(d.Votes) != 1 || d.Votes[0].Voter != "bob" {
		t.Fatalf("approve: %d %s %+v\n%s", status, d.State, d.Votes, page)
	}

	// The author publishes.
	if page := alice.page(draft); !strings.Contains(page, fmt.Sprintf(`action="/ui/drafts/%d/publish"`, id)) {
		t.Fatalf("approved draft page lacks publish:\n%s", page)
	}
	status, page, _ = alice.post(draft+"/publish", url.Values{})
	if d := cfgDraft(t, srv, id); status != 200 || d.State != gatehouse.DraftPublished || !strings.Contains(page, "Published") {
		t.Fatalf("publish: %d %s\n%s", status, d.State, page)
	}
	if got := cfgLive(t, srv, "prod", gatehouse.ConfigMapData); got != "LOG_LEVEL: warn\n" {
		t.Fatalf("prod configmap after publishing: %q", got)
	}
	if closed := alice.page("/ui/drafts"); !strings.Contains(closed, "published") {
		t.Fatalf("drafts page after publishing:\n%s", closed)
	}
	alice.page("/ui/projects/shop/apps/web/config")
	for _, p := range pages {
		if strings.Contains(p, planted) {
			t.Fatalf("a page shows the secret value:\n%s", p)
		}
	}
}
