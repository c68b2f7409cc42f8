package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/httpapi"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

var (
	haDigest1 = "sha256:" + strings.Repeat("1", 64)
	haDigest2 = "sha256:" + strings.Repeat("2", 64)
)

// haWorld starts a server with project shop (environments dev and prod, app web with a
// pipeline dev → prod and two artifacts) and two successful deployments to dev: 1 of the
// first artifact, 2 of the second after a config change (replicas: 3).
func haWorld(t *testing.T, engine string) *testserver.Server {
	t.Helper()
	srv := testserver.Start(t, engine)
	do := func(method, path string, body any) {
		t.Helper()
		srv.Setup(testserver.Step{Method: method, Path: path, Body: body})
	}
	succeed := func(id int) {
		t.Helper()
		if _, err := srv.DB.Raw().Exec(fmt.Sprintf(`UPDATE deployments SET state = 'succeeded' WHERE id = %d`, id)); err != nil {
			t.Fatal(err)
		}
	}
	do("POST", "/api/v1/projects", gatehouse.ProjectCreate{Name: "shop"})
	do("POST", "/api/v1/clusters", gatehouse.ClusterCreate{Name: "c1", Kubeconfig: gatehouse.OutgoingSecret(testdb.Kubeconfig)})
	for _, e := range []string{"dev", "prod"} {
		do("POST", "/api/v1/projects/shop/environments", gatehouse.EnvironmentCreate{Name: e, Cluster: "c1", Namespace: "shop-" + e})
	}
	do("POST", "/api/v1/projects/shop/apps", gatehouse.AppCreate{Name: "web"})
	do("PUT", "/api/v1/projects/shop/apps/web/pipeline", gatehouse.PipelineSet{Stages: []gatehouse.Stage{{Environment: "dev"}, {Environment: "prod", After: "dev"}}})
	for _, d := range []string{haDigest1, haDigest2} {
		do("POST", "/api/v1/projects/shop/apps/web/artifacts", gatehouse.ArtifactCreate{Image: "r.example.com/web@" + d})
	}
	do("POST", "/api/v1/projects/shop/apps/web/deployments", gatehouse.DeploymentCreate{Environment: "dev", Digest: haDigest1})
	succeed(1)
	do("PUT", "/api/v1/projects/shop/apps/web/config/values", gatehouse.ConfigWrite{Content: "replicas: 3\n"})
	do("POST", "/api/v1/projects/shop/apps/web/deployments", gatehouse.DeploymentCreate{Environment: "dev", Digest: haDigest2})
	succeed(2)
	return srv
}

func haContains(t *testing.T, what, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, body)
		}
	}
}

func TestHistoryPages(t *testing.T) { testdb.ForEach(t, historyPages) }

func historyPages(t *testing.T, engine string) {
	srv := haWorld(t, engine)
	b := signInPages(t, srv, "admin", nil)
	const app = "/ui/projects/shop/apps/web"

	status, body := b.get(app + "/history")
	if status != http.StatusOK {
		t.Fatalf("history: %d %s", status, body)
	}
	haContains(t, "history", body, app+"/deployments/1/rollback", app+"/deployments/2/rollback", "222222222222", "111111111111",
		`name="from" value="2"`, `name="to" value="2"`, "Compare selected")
	if _, body := b.get(app + "/history?env=prod"); !strings.Contains(body, "No deployments to prod") {
		t.Errorf("prod history is not empty:\n%s", body)
	}

	status, body = b.get(app + "/history/compare?from=1&to=2")
	if status != http.StatusOK {
		t.Fatalf("compare: %d %s", status, body)
	}
	haContains(t, "compare", body, `<li class="added"><code>&#43; replicas: 3</code>`, "r.example.com/web@"+haDigest1+" → r.example.com/web@"+haDigest2,
		"a secret whose value changed shows as ••• changed")
	if status, _ := b.get(app + "/history/compare?from=x&to=2"); status != http.StatusBadRequest {
		t.Errorf("compare from=x: %d, want 400", status)
	}

	status, body = b.get(app + "/deployments/1/rollback")
	if status != http.StatusOK {
		t.Fatalf("rollback page: %d %s", status, body)
	}
	haContains(t, "rollback page", body, "Roll back dev to deployment 1", "replicas", "gate applies",
		`action="`+app+`/deployments/1/rollback"`, `name="csrf_token"`)
	resp, body := b.post(app+"/deployments/1/rollback", nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), app+"/deployments/3") {
		t.Fatalf("rollback: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	var d gatehouse.Deployment
	srv.Must(srv.Admin.Do(context.Background(), "GET", "/api/v1/projects/shop/apps/web/deployments/3", nil, nil, &d))
	if d.Kind != gatehouse.KindRollback || d.RollbackOf != 1 || d.Digest != haDigest1 {
		t.Errorf("rollback deployment: %+v", d)
	}
	// Deployment 3 has not succeeded: the service refuses, and the page says why.
	resp, body = b.post(app+"/deployments/3/rollback", nil)
	if resp.StatusCode != http.StatusPreconditionFailed || !strings.Contains(body, "only a deployment that succeeded") {
		t.Errorf("refused rollback: %d %s", resp.StatusCode, body)
	}
}

func TestAuditPage(t *testing.T) { testdb.ForEach(t, auditPage) }

func auditPage(t *testing.T, engine string) {
	srv := haWorld(t, engine)
	srv.Person("vera", "viewer@project:shop")
	b := signInPages(t, srv, "admin", nil)

	status, body := b.get("/ui/audit?action=deployment")
	if status != http.StatusOK {
		t.Fatalf("audit: %d %s", status, body)
	}
	haContains(t, "audit", body, "deployment.create", "deployment/2", "project shop, app web, environment dev",
		`href="/api/v1/audit?action=deployment.&amp;format=jsonl"`, "Verify chain")
	if strings.Contains(body, "<code>project.create</code>") {
		t.Errorf("audit filtered by deployment shows project.create:\n%s", body)
	}
	if _, body := b.get("/ui/audit?action=nothing.here"); !strings.Contains(body, "No events match") {
		t.Errorf("empty audit page:\n%s", body)
	}
	if status, _ := b.get("/ui/audit?since=yesterday"); status != http.StatusBadRequest {
		t.Errorf("bad since: %d, want 400", status)
	}
	resp, body := b.post("/ui/audit/verify", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "The chain is intact") {
		t.Errorf("verify: %d %s", resp.StatusCode, body)
	}

	v := signInPages(t, srv, "vera", nil)
	if status, body := v.get("/ui/audit"); status != http.StatusForbidden || !strings.Contains(body, "view-audit") {
		t.Errorf("viewer's audit page: %d %s", status, body)
	}
	if resp, _ := v.post("/ui/audit/verify", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer's verify: %d, want 403", resp.StatusCode)
	}
}

// haBindings lists the role bindings of a user through the API.
func haBindings(t *testing.T, srv *testserver.Server, user string) []gatehouse.RoleBinding {
	t.Helper()
	var out httpapi.List[gatehouse.RoleBinding]
	srv.Must(srv.Admin.Do(context.Background(), "GET", "/api/v1/rolebindings", url.Values{"user": {user}}, nil, &out))
	return out.Items
}

func TestAccessPages(t *testing.T) { testdb.ForEach(t, accessPages) }

func accessPages(t *testing.T, engine string) {
	srv := haWorld(t, engine)
	srv.Person("vic", "viewer@project:shop")
	srv.Person("amy", "access-manager@project:shop", "deployer@project:shop")
	srv.Person("tess")
	srv.Person("uma")
	ivan := srv.Person("ivan", "image-approver@project:shop/env:prod")
	srv.Setup(testserver.Post("/api/v1/policies", gatehouse.PolicySpec{Name: "prod-gate", Scope: "project:shop/env:prod", Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}}))
	grant := url.Values{"subject": {"user:tess"}, "role": {"deployer"}, "project": {"shop"}, "app": {""}, "env": {"dev"}}

	v := signInPages(t, srv, "vic", nil)
	// A viewer sees the people of the projects it is bound in, without e-mail: amy, not tess.
	if status, body := v.get("/ui/access"); status != http.StatusOK || !strings.Contains(body, "People in your projects") ||
		!strings.Contains(body, `value="user:amy"`) || strings.Contains(body, "user:tess") || strings.Contains(body, "E-mail") {
		t.Errorf("a viewer's access page: %d\n%s", status, body)
	}
	resp, body := v.post("/ui/access/bindings", grant)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "may not grant deployer") {
		t.Errorf("viewer grants: %d %s", resp.StatusCode, body)
	}
	if bs := haBindings(t, srv, "tess"); len(bs) != 0 {
		t.Fatalf("a refused grant made bindings: %+v", bs)
	}

	m := signInPages(t, srv, "amy", nil)
	status, body := m.get("/ui/access")
	if status != http.StatusOK {
		t.Fatalf("access: %d %s", status, body)
	}
	haContains(t, "access", body, `value="user:tess"`, "access-manager", `<option value="shop">shop</option>`, `<option value="web">`, `<option value="dev">`)
	resp, body = m.post("/ui/access/bindings", grant)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/access" {
		t.Fatalf("grant: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	// The next page says what happened, once; a link cannot make it say anything.
	if _, body := m.get("/ui/access"); !strings.Contains(body, "Granted deployer on project:shop/env:dev to user tess.") {
		t.Fatalf("no message after the grant:\n%s", body)
	}
	if _, body := m.get("/ui/access?flash=Your+account+is+locked"); strings.Contains(body, "Granted deployer") || strings.Contains(body, "account is locked") {
		t.Fatalf("the message showed twice, or came from the address:\n%s", body)
	}
	bs := haBindings(t, srv, "tess")
	if len(bs) != 1 || bs[0].Role != gatehouse.RoleDeployer || bs[0].Scope != "project:shop/env:dev" || bs[0].CreatedBy != "amy" {
		t.Fatalf("granted bindings: %+v", bs)
	}
	_, body = m.get("/ui/access")
	revoke := fmt.Sprintf("/ui/access/bindings/%d/delete", bs[0].ID)
	haContains(t, "access after grant", body, "user tess", "project:shop/env:dev", `action="`+revoke+`"`)
	if resp, body := m.post(revoke, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d %s", resp.StatusCode, body)
	}
	if bs := haBindings(t, srv, "tess"); len(bs) != 0 {
		t.Fatalf("revoked binding remains: %+v", bs)
	}

	// Tokens: the secret shows once, on the page that created it.
	resp, body = m.post("/ui/access/tokens", url.Values{"name": {"laptop"}, "expires_in": {"720h"}})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create token: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	match := regexp.MustCompile(`id="new-token" readonly value="([^"]+)"`).FindStringSubmatch(body)
	if match == nil {
		t.Fatalf("no token on the creation page:\n%s", body)
	}
	secret := match[1]
	status, body = m.get("/ui/access/tokens")
	if status != http.StatusOK || strings.Contains(body, secret) || !strings.Contains(body, "laptop") {
		t.Fatalf("token list (must name laptop, not show its secret): %d %s", status, body)
	}
	var toks httpapi.List[gatehouse.Token]
	srv.Must(srv.Admin.Do(context.Background(), "GET", "/api/v1/users/amy/tokens", nil, nil, &toks))
	var id int64
	for _, tk := range toks.Items {
		if tk.Name == "laptop" {
			id = tk.ID
		}
	}
	if resp, body := m.post(fmt.Sprintf("/ui/access/tokens/%d/revoke", id), nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke token %d: %d %s", id, resp.StatusCode, body)
	}
	if _, body := m.get("/ui/access/tokens"); !strings.Contains(body, "revoked") || !strings.Contains(body, "revoked by amy") {
		t.Errorf("revoked token not shown as revoked, with its reason:\n%s", body)
	}

	// A vote prod-gate counts is refused directly, with the way to propose it; proposed, it
	// waits in ivan's inbox and is given once he approves.
	admin := signInPages(t, srv, "admin", nil)
	vote := url.Values{"subject": {"user:uma"}, "role": {"image-approver"}, "project": {"shop"}, "app": {""}, "env": {"prod"}}
	if resp, body := admin.post("/ui/access/bindings", vote); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/access" {
		t.Fatalf("a direct grant of a counted vote: %d %s", resp.StatusCode, body)
	}
	if _, body := admin.get("/ui/access"); !strings.Contains(body, "access of user uma is protected by policy prod-gate") ||
		!strings.Contains(body, "Propose for approval") {
		t.Fatalf("the access page does not say why the grant was refused:\n%s", body)
	}
	if bs := haBindings(t, srv, "uma"); len(bs) != 0 {
		t.Fatalf("a refused grant made bindings: %+v", bs)
	}
	vote.Set("action", "propose")
	resp, body = admin.post("/ui/access/bindings", vote)
	var draft int64
	if _, err := fmt.Sscanf(resp.Header.Get("Location"), "/ui/drafts/%d", &draft); resp.StatusCode != http.StatusSeeOther || err != nil {
		t.Fatalf("propose the grant: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if _, body := admin.get(fmt.Sprintf("/ui/drafts/%d", draft)); !strings.Contains(body, "access of user uma") || !strings.Contains(body, "prod-gate") {
		t.Fatalf("the access draft's page:\n%s", body)
	}
	srv.Must(ivan.Do(context.Background(), "POST", fmt.Sprintf("/api/v1/drafts/%d/approve", draft), nil, gatehouse.Decision{Version: 1}, nil))
	srv.Must(srv.Admin.Do(context.Background(), "POST", fmt.Sprintf("/api/v1/drafts/%d/publish", draft), nil, nil, nil))
	if bs := haBindings(t, srv, "uma"); len(bs) != 1 || bs[0].Role != gatehouse.RoleImageApprover {
		t.Fatalf("uma after the draft: %+v", bs)
	}

	// A form without the CSRF token is refused and changes nothing.
	resp, body = m.send("/ui/access/bindings", grant)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("grant without csrf_token: %d %s", resp.StatusCode, body)
	}
	if bs := haBindings(t, srv, "tess"); len(bs) != 0 {
		t.Errorf("a grant without csrf_token made bindings: %+v", bs)
	}
}

// TestHistoryPaging: the history lists the newest deployments a page at a time, with a link
// to the older ones (none on the last page) and back to the newest; a bad cursor is refused
// naming it, by the page and by the API.
func TestHistoryPaging(t *testing.T) { testdb.ForEach(t, historyPaging) }

func historyPaging(t *testing.T, engine string) {
	srv := haWorld(t, engine) // deployments 1 and 2
	const app = "/ui/projects/shop/apps/web"
	steps := []testserver.Step{}
	for range 58 {
		steps = append(steps, testserver.Post("/api/v1/projects/shop/apps/web/deployments", gatehouse.DeploymentCreate{Environment: "dev", Digest: haDigest1}))
	}
	srv.Setup(steps...) // 60 in all
	b := signInPages(t, srv, "admin", nil)
	rows := regexp.MustCompile(`name="to" value="(\d+)"`)

	first := b.page(app + "/history?env=dev")
	ids := rows.FindAllStringSubmatch(first, -1)
	if len(ids) != 50 || ids[0][1] != "60" || ids[49][1] != "11" {
		t.Fatalf("first page lists %d deployments (%v … %v)", len(ids), ids[0], ids[len(ids)-1])
	}
	older := app + "/history?env=dev&amp;cursor=" + gatehouse.PageCursor(11)
	if !strings.Contains(first, `href="`+older+`"`) || strings.Contains(first, "Newest deployments") {
		t.Fatalf("first page's links:\n%s", first)
	}
	second := b.page(strings.ReplaceAll(older, "&amp;", "&"))
	ids = rows.FindAllStringSubmatch(second, -1)
	if len(ids) != 10 || ids[0][1] != "10" || ids[9][1] != "1" || strings.Contains(second, "Older deployments") || !strings.Contains(second, "Newest deployments") {
		t.Fatalf("second page lists %d deployments, links:\n%s", len(ids), second)
	}
	if status, body := b.get(app + "/history?cursor=soon"); status != http.StatusBadRequest || !strings.Contains(body, "cursor") {
		t.Errorf("bad cursor on the page: %d\n%s", status, body)
	}
	err := srv.Admin.Do(context.Background(), "GET", "/api/v1/projects/shop/apps/web/deployments", url.Values{"cursor": {"-1"}}, nil, nil)
	if gatehouse.KindOf(err) != gatehouse.KindInvalid || !strings.Contains(err.Error(), "cursor") {
		t.Errorf("bad cursor on the API: %v", err)
	}
	// The API pages alike: its answer links to the next page (Link rel="next"), none after the last.
	var listed httpapi.List[gatehouse.Deployment]
	next, err := srv.Admin.Page(context.Background(), "/api/v1/projects/shop/apps/web/deployments", url.Values{"environment": {"dev"}, "limit": {"50"}}, &listed)
	if err != nil || len(listed.Items) != 50 || next != gatehouse.PageCursor(11) {
		t.Fatalf("API first page: %d deployments, next %q, %v", len(listed.Items), next, err)
	}
	next, err = srv.Admin.Page(context.Background(), "/api/v1/projects/shop/apps/web/deployments", url.Values{"environment": {"dev"}, "cursor": {next}}, &listed)
	if err != nil || len(listed.Items) != 10 || listed.Items[0].ID != 10 || next != "" {
		t.Fatalf("API second page: %d deployments, next %q, %v", len(listed.Items), next, err)
	}
}
