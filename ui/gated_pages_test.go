package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

// gatedWorld starts a server with project shop (environments dev on namespace shop-dev and
// prod on shop, both on cluster k), app web with the pipeline dev → prod, and a config policy
// on prod; alice administers shop, bob approves its configuration.
func gatedWorld(t *testing.T, engine string) (srv *testserver.Server, alice, bob *pageClient) {
	t.Helper()
	srv = testserver.Start(t, engine)
	srv.Setup(
		testserver.Post("/api/v1/projects", gatehouse.ProjectCreate{Name: "shop"}),
		testserver.Post("/api/v1/clusters", gatehouse.ClusterCreate{Name: "k", Kubeconfig: gatehouse.OutgoingSecret(testdb.Kubeconfig)}),
		testserver.Post("/api/v1/projects/shop/environments", gatehouse.EnvironmentCreate{Name: "dev", Cluster: "k", Namespace: "shop-dev"}),
		testserver.Post("/api/v1/projects/shop/environments", gatehouse.EnvironmentCreate{Name: "prod", Cluster: "k", Namespace: "shop"}),
		testserver.Post("/api/v1/projects/shop/apps", gatehouse.AppCreate{Name: "web"}),
		testserver.Put("/api/v1/projects/shop/apps/web/pipeline", gatehouse.PipelineSet{Stages: []gatehouse.Stage{{Environment: "dev"}, {Environment: "prod", After: "dev"}}}),
	)
	srv.Person("alice", "admin@project:shop")
	srv.Person("bob", "config-approver@project:shop")
	srv.Setup(testserver.Post("/api/v1/policies", gatehouse.PolicySpec{Name: "prod-config", Kind: gatehouse.PolicyConfig, Scope: "project:shop/env:prod",
		Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}}))
	return srv, signInPages(t, srv, "alice", nil), signInPages(t, srv, "bob", nil)
}

func envOf(t *testing.T, srv *testserver.Server, name string) gatehouse.Environment {
	t.Helper()
	var e gatehouse.Environment
	srv.Must(srv.Admin.Do(context.Background(), "GET", "/api/v1/projects/shop/environments/"+name, nil, nil, &e))
	return e
}

func placement(namespace string) string {
	return "cluster: k\nnamespace: " + namespace + "\nallow_cluster_scoped: false\nallow_namespaces: []\n"
}

// draftAt reads the draft a form led to from the page's path.
func draftAt(t *testing.T, status int, page, at string) int64 {
	t.Helper()
	var id int64
	if _, err := fmt.Sscanf(at, "/ui/drafts/%d", &id); err != nil || status != http.StatusOK {
		t.Fatalf("expected a draft page, got %d at %s:\n%s", status, at, page)
	}
	return id
}

// TestGatedSettingsPages walks a gated setting through the web UI: the configuration page
// shows the app's chart, hooks and pipeline and each environment's placement with their
// protection; the one edit page changes an unprotected placement at once and turns the
// protected one into a draft; a pipeline change the page took for protected but the server
// judges unprotected is offered, and saved, directly. bob finds the draft in his approvals
// inbox, and his vote for the version he read is refused once alice adds another: the page
// says "changed since you looked" and records nothing. His vote for the new version counts,
// and publishing moves prod.
func TestGatedSettingsPages(t *testing.T) { testdb.ForEach(t, gatedSettingsPages) }

func gatedSettingsPages(t *testing.T, engine string) {
	srv, alice, bob := gatedWorld(t, engine)
	const cfg = "/ui/projects/shop/apps/web/config"
	overview := alice.page(cfg)
	haContains(t, "configuration page", overview, "Settings of the app", "builtin chart", "Edit chart", "Edit hooks", "dev → dev: manual",
		"prod → prod: manual, after dev", "namespace <code>shop-dev</code>", "namespace <code>shop</code>", "cluster-scoped objects refused",
		cfg+"/edit?env=prod&amp;kind=environment", cfg+"/edit?kind=chart", "protected</span> by prod-config")

	// dev is not protected: its placement changes at once.
	if page := alice.page(cfg + "/edit?env=dev&kind=environment"); !strings.Contains(page, "Not protected") || !strings.Contains(page, ">Save<") {
		t.Fatalf("edit page of dev's placement:\n%s", page)
	}
	status, page, _ := alice.submit(cfg+"/edit", url.Values{"env": {"dev"}, "kind": {"environment"}, "content": {placement("shop-dev2")}})
	if status != http.StatusOK || !strings.Contains(page, "Saved the placement of environment shop/dev") || envOf(t, srv, "dev").Namespace != "shop-dev2" {
		t.Fatalf("direct placement change: %d, dev in %s\n%s", status, envOf(t, srv, "dev").Namespace, page)
	}
	status, page, _ = alice.submit(cfg+"/edit", url.Values{"env": {"dev"}, "kind": {"environment"}, "content": {"cluster: k\nnamespace: Not_A_Name\n"}})
	if status != http.StatusBadRequest || !strings.Contains(page, "namespace:") || !strings.Contains(page, "Not_A_Name") {
		t.Fatalf("invalid placement: %d\n%s", status, page)
	}

	// The pipeline is protected (prod's stage is), but a change of dev's stage alone is not:
	// the server refuses the draft and the page offers the direct change, keeping the text.
	var live gatehouse.Live
	srv.Must(srv.Admin.Do(context.Background(), "GET", "/api/v1/live", url.Values{"kind": {"pipeline"}, "project": {"shop"}, "app": {"web"}}, nil, &live))
	devAuto := strings.Replace(live.Content, "trigger: manual", "trigger: auto", 1)
	status, page, _ = alice.submit(cfg+"/edit", url.Values{"kind": {"pipeline"}, "content": {devAuto}, "via": {formValue(t, alice.page(cfg+"/edit?kind=pipeline"), cfg+"/edit", "via")}})
	if status != http.StatusPreconditionFailed || !strings.Contains(page, "The server judges that this change needs no approval") || formValue(t, page, cfg+"/edit", "via") != "direct" {
		t.Fatalf("pipeline draft of an unprotected stage: %d\n%s", status, page)
	}
	if status, page, _ = alice.submit(cfg+"/edit", url.Values{"kind": {"pipeline"}, "content": {devAuto}, "via": {"direct"}}); status != http.StatusOK || !strings.Contains(page, "Saved the pipeline of app shop/web") {
		t.Fatalf("direct pipeline change: %d\n%s", status, page)
	}

	// prod is protected: saving its placement opens a draft and moves nothing.
	if page := alice.page(cfg + "/edit?env=prod&kind=environment"); !strings.Contains(page, "protected by prod-config") || !strings.Contains(page, "Create draft") {
		t.Fatalf("edit page of prod's placement:\n%s", page)
	}
	status, page, at := alice.submit(cfg+"/edit", url.Values{"env": {"prod"}, "kind": {"environment"}, "content": {placement("shop-next")}, "comment": {"new namespace"}})
	id := draftAt(t, status, page, at)
	draft := fmt.Sprintf("/ui/drafts/%d", id)
	if d := cfgDraft(t, srv, id); d.Kind != gatehouse.DraftEnvironment || d.State != gatehouse.DraftOpen || envOf(t, srv, "prod").Namespace != "shop" {
		t.Fatalf("draft %d: %s %s; prod in %s", id, d.Kind, d.State, envOf(t, srv, "prod").Namespace)
	}
	haContains(t, "configuration page with the draft", alice.page(cfg), fmt.Sprintf(`href="%s">Open draft %d`, draft, id))
	alice.submit(draft+"/propose", url.Values{"notify": {"bob"}})
	haContains(t, "alice's inbox", alice.page("/ui/approvals"), "My open drafts", fmt.Sprintf(`href="%s"`, draft), "placement of environment shop/prod")

	// bob finds it in his inbox and reads version 1; alice writes version 2 meanwhile.
	inbox := bob.page("/ui/approvals")
	haContains(t, "bob's inbox", inbox, fmt.Sprintf(`href="%s"`, draft), "<td>environment</td>", "placement of environment shop/prod", "1 approver 0/1")
	haContains(t, "bob's home page", bob.page("/ui/"), fmt.Sprintf(`href="%s">Draft %d: placement of environment shop/prod</a>`, draft, id))
	read := bob.page(draft)
	haContains(t, "bob's draft page", read, "namespace: shop → shop-next", "Approve version 1")
	version := formValue(t, read, draft+"/approve", "version")
	alice.submit(draft+"/edit", url.Values{"base_version": {"1"}, "content": {placement("shop-prod")}, "comment": {"better name"}})

	status, page, _ = bob.submit(draft+"/approve", url.Values{"version": {version}, "comment": {"ok"}})
	if d := cfgDraft(t, srv, id); status != http.StatusConflict || len(d.Votes) != 0 || d.State != gatehouse.DraftProposed {
		t.Fatalf("vote for version %s of a draft at %d: %d, votes %+v, %s\n%s", version, d.Version, status, d.Votes, d.State, page)
	}
	haContains(t, "the refused vote's page", page, "changed since you looked", "You reviewed version 1", "namespace: shop → shop-prod", "Approve version 2")

	version = formValue(t, page, draft+"/approve", "version")
	status, page, _ = bob.submit(draft+"/approve", url.Values{"version": {version}, "comment": {"ok"}})
	if d := cfgDraft(t, srv, id); status != http.StatusOK || d.State != gatehouse.DraftApproved || len(d.Votes) != 1 || d.Votes[0].Version != 2 {
		t.Fatalf("vote for version 2: %d %s %+v\n%s", status, d.State, d.Votes, page)
	}
	if status, page, _ = alice.submit(draft+"/publish", nil); status != http.StatusOK || !strings.Contains(page, "Published") {
		t.Fatalf("publish: %d\n%s", status, page)
	}
	if e := envOf(t, srv, "prod"); e.Namespace != "shop-prod" {
		t.Fatalf("after publishing prod is in %s", e.Namespace)
	}
	haContains(t, "configuration page after publishing", alice.page(cfg), "namespace <code>shop-prod</code>")
}
