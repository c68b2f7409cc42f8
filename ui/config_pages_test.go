package ui_test

import (
	"context"
	"fmt"
	"html"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

func cfgLive(t *testing.T, srv *testserver.Server, env string, kind gatehouse.ConfigKind) string {
	t.Helper()
	var c gatehouse.Config
	srv.Must(srv.Admin.Do(context.Background(), "GET", "/api/v1/projects/shop/apps/web/environments/"+env+"/config/"+string(kind), nil, nil, &c))
	return c.Content
}

func cfgDraft(t *testing.T, srv *testserver.Server, id int64) gatehouse.Draft {
	t.Helper()
	var d gatehouse.Draft
	srv.Must(srv.Admin.Do(context.Background(), "GET", fmt.Sprintf("/api/v1/drafts/%d", id), nil, nil, &d))
	return d
}

// TestConfigPages walks the configuration pages as people do, with plain HTTP: a direct save
// of an unprotected configmap, a refused one that keeps the text, a protected change that
// becomes a draft, its approval by someone else and its publication by its author, a form
// without the CSRF token refused; and no page ever shows a secret value.
func TestConfigPages(t *testing.T) { testdb.ForEach(t, configPages) }

func configPages(t *testing.T, engine string) {
	const planted = "planted-secret-value-8812"
	srv := testserver.Start(t, engine)
	srv.Setup(
		testserver.Post("/api/v1/projects", gatehouse.ProjectCreate{Name: "shop"}),
		testserver.Post("/api/v1/clusters", gatehouse.ClusterCreate{Name: "k", Kubeconfig: gatehouse.OutgoingSecret(testdb.Kubeconfig)}),
		testserver.Post("/api/v1/projects/shop/environments", gatehouse.EnvironmentCreate{Name: "dev", Cluster: "k", Namespace: "shop-dev"}),
		testserver.Post("/api/v1/projects/shop/environments", gatehouse.EnvironmentCreate{Name: "prod", Cluster: "k", Namespace: "shop"}),
		testserver.Post("/api/v1/projects/shop/apps", gatehouse.AppCreate{Name: "web"}),
		testserver.Put("/api/v1/projects/shop/apps/web/environments/dev/config/secrets", gatehouse.ConfigWrite{Content: "DB_PASSWORD: " + planted + "\n"}),
	)
	srv.Person("alice", "admin@project:shop")
	srv.Person("bob", "config-approver@project:shop")
	srv.Setup(testserver.Post("/api/v1/policies", gatehouse.PolicySpec{Name: "prod-config", Kind: gatehouse.PolicyConfig, Scope: "project:shop/env:prod",
		Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}}))
	var pages []string
	alice := signInPages(t, srv, "alice", &pages)
	bob := signInPages(t, srv, "bob", &pages)

	overview := alice.page("/ui/projects/shop/apps/web/config")
	for _, want := range []string{"dev", "prod", "prod-config", "DB_PASSWORD", "config/edit?env=dev&amp;kind=configmap", "compare"} {
		if !strings.Contains(overview, want) {
			t.Fatalf("overview lacks %q:\n%s", want, overview)
		}
	}
	if cmp := alice.page("/ui/projects/shop/apps/web/config/compare?from=dev&to=prod"); !strings.Contains(cmp, `<option value="dev" selected>`) ||
		!strings.Contains(cmp, `<option value="prod" selected>`) || !strings.Contains(cmp, "secrets.DB_PASSWORD") ||
		!strings.Contains(cmp, "Secrets are compared by key only between environments") {
		t.Fatalf("compare page:\n%s", cmp)
	}
	if status, _ := alice.get("/ui/projects/shop/apps/web/config/compare?to=prod"); status != 400 {
		t.Fatalf("compare without from: %d, want 400", status)
	}
	alice.page("/ui/projects/shop/apps/web/config/edit?env=dev&kind=secrets")
	if empty := alice.page("/ui/drafts"); !strings.Contains(empty, "No open drafts") {
		t.Fatalf("drafts page without drafts:\n%s", empty)
	}

	// Unprotected: saved at once.
	if page := alice.page("/ui/projects/shop/apps/web/config/edit?env=dev&kind=configmap"); !strings.Contains(page, ">Save<") {
		t.Fatalf("edit page of dev configmap:\n%s", page)
	}
	edit := "/ui/projects/shop/apps/web/config/edit"
	status, page, _ := alice.submit(edit, url.Values{"env": {"dev"}, "kind": {"configmap"}, "content": {"LOG_LEVEL: debug\n"}, "comment": {"louder"}})
	if status != 200 || !strings.Contains(page, "Saved shop/web dev configmap") {
		t.Fatalf("save dev configmap: %d\n%s", status, page)
	}
	if got := cfgLive(t, srv, "dev", gatehouse.ConfigMapData); got != "LOG_LEVEL: debug\n" {
		t.Fatalf("dev configmap after saving: %q", got)
	}

	// Invalid: the form comes back with the text and why.
	bad := "LOG_LEVEL: [debug & <more>\n"
	status, page, _ = alice.submit(edit, url.Values{"env": {"dev"}, "kind": {"configmap"}, "content": {bad}})
	if status != 400 || !strings.Contains(page, html.EscapeString(bad)) || !strings.Contains(page, "not valid YAML") || !strings.Contains(page, `id="content-error"`) {
		t.Fatalf("invalid content: %d\n%s", status, page)
	}
	if got := cfgLive(t, srv, "dev", gatehouse.ConfigMapData); got != "LOG_LEVEL: debug\n" {
		t.Fatalf("invalid content changed the configmap: %q", got)
	}

	// Without the CSRF token: refused, nothing changes.
	if resp, page := alice.send(edit, url.Values{"env": {"dev"}, "kind": {"configmap"}, "content": {"LOG_LEVEL: hacked\n"}}); resp.StatusCode != 403 {
		t.Fatalf("POST without csrf_token: %d\n%s", resp.StatusCode, page)
	}
	if got := cfgLive(t, srv, "dev", gatehouse.ConfigMapData); got != "LOG_LEVEL: debug\n" {
		t.Fatalf("a POST without csrf_token changed the configmap: %q", got)
	}

	// Protected: saving creates a draft.
	if page := alice.page("/ui/projects/shop/apps/web/config/edit?env=prod&kind=configmap"); !strings.Contains(page, "protected by prod-config") || !strings.Contains(page, "Create draft") {
		t.Fatalf("edit page of prod configmap:\n%s", page)
	}
	status, page, at := alice.submit(edit, url.Values{"env": {"prod"}, "kind": {"configmap"}, "content": {"LOG_LEVEL: info\n"}, "comment": {"first"}})
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
	status, page, _ = alice.submit(draft+"/edit", url.Values{"base_version": {"1"}, "content": {"LOG_LEVEL: warn\n"}, "comment": {"quieter"}})
	if status != 200 || cfgDraft(t, srv, id).Version != 2 {
		t.Fatalf("edit draft: %d\n%s", status, page)
	}
	status, page, _ = alice.submit(draft+"/edit", url.Values{"base_version": {"1"}, "content": {"LOG_LEVEL: stale-edit\n"}})
	if status != 409 || !strings.Contains(page, "draft changed, reload") || !strings.Contains(page, "Reload the draft") || !strings.Contains(page, "stale-edit") {
		t.Fatalf("stale edit: %d\n%s", status, page)
	}
	alice.submit(draft+"/comment", url.Values{"text": {"ready for review"}})
	status, page, _ = alice.submit(draft+"/propose", url.Values{"notify": {"bob"}, "comment": {"please"}})
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
	reviewed := bob.page(draft)
	if !strings.Contains(reviewed, approve) || !strings.Contains(reviewed, "prod-config") {
		t.Fatalf("approver's draft page:\n%s", reviewed)
	}
	version := formValue(t, reviewed, draft+"/approve", "version")
	if status, page, _ = bob.submit(draft+"/reject", url.Values{"comment": {""}, "version": {version}}); status != 400 || cfgDraft(t, srv, id).State != gatehouse.DraftProposed {
		t.Fatalf("reject without a comment: %d\n%s", status, page)
	}
	status, page, _ = bob.submit(draft+"/approve", url.Values{"comment": {"fine"}, "version": {version}})
	if d := cfgDraft(t, srv, id); status != 200 || d.State != gatehouse.DraftApproved || len(d.Votes) != 1 || d.Votes[0].Voter != "bob" {
		t.Fatalf("approve: %d %s %+v\n%s", status, d.State, d.Votes, page)
	}

	// The author publishes.
	if page := alice.page(draft); !strings.Contains(page, fmt.Sprintf(`action="/ui/drafts/%d/publish"`, id)) {
		t.Fatalf("approved draft page lacks publish:\n%s", page)
	}
	status, page, _ = alice.submit(draft+"/publish", url.Values{})
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
