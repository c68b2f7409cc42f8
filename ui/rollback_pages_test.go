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

// TestRollbackProposal: where a config policy protects dev, the rollback page of a deployment
// whose configuration differs from the live one shows what it would apply (image, values)
// and offers "Propose the rollback for approval" instead of a rollback the server refuses;
// proposing opens a rollback draft that bob finds in his inbox, approves for the version he
// read, and whose publication queues the rollback. A rollback that applies the live
// configuration is offered directly, and when the page's guess is wrong the server's refusal
// of the proposal brings the direct rollback back.
func TestRollbackProposal(t *testing.T) { testdb.ForEach(t, rollbackProposal) }

func rollbackProposal(t *testing.T, engine string) {
	srv := haWorld(t, engine) // deployments 1 (replicas unset) and 2 (replicas: 3) of dev
	srv.Person("bob", "config-approver@project:shop")
	srv.Setup(testserver.Post("/api/v1/policies", gatehouse.PolicySpec{Name: "dev-config", Kind: gatehouse.PolicyConfig, Scope: "project:shop/env:dev",
		Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}}))
	admin, bob := signInPages(t, srv, "admin", nil), signInPages(t, srv, "bob", nil)
	const app = "/ui/projects/shop/apps/web"
	rollback := app + "/deployments/1/rollback"

	page := admin.page(rollback)
	haContains(t, "rollback page of deployment 1", page, "Propose the rollback for approval", `name="action" value="propose"`, "dev-config",
		"- replicas: 3", "r.example.com/web@"+haDigest2+" → r.example.com/web@"+haDigest1, "it needs their approval first")
	if strings.Contains(page, ">Roll back to deployment 1</button>") {
		t.Fatalf("the page offers a rollback the server refuses:\n%s", page)
	}
	if resp, body := admin.post(rollback, nil); resp.StatusCode != http.StatusPreconditionFailed || !strings.Contains(body, "dev-config") {
		t.Fatalf("direct rollback under dev-config: %d\n%s", resp.StatusCode, body)
	}

	status, page, at := admin.submit(rollback, url.Values{"action": {"propose"}, "comment": {"back to 1"}, "notify": {"bob"}})
	id := draftAt(t, status, page, at)
	draft := fmt.Sprintf("/ui/drafts/%d", id)
	if d := cfgDraft(t, srv, id); d.Kind != gatehouse.DraftRollback || d.State != gatehouse.DraftProposed || d.Content != "deployment: 1\n" || d.Environment != "dev" {
		t.Fatalf("rollback draft: %s %s %q in %s", d.Kind, d.State, d.Content, d.Environment)
	}
	haContains(t, "the rollback draft's page", page, "proposed as draft", "Rolls back to", `href="`+app+`/deployments/1"`, "- replicas: 3")
	page = admin.page(rollback)
	haContains(t, "rollback page with the draft open", page, fmt.Sprintf(`href="%s"`, draft))
	if strings.Contains(page, "Propose the rollback for approval") {
		t.Fatalf("the page offers a second rollback draft:\n%s", page)
	}

	haContains(t, "bob's inbox", bob.page("/ui/approvals"), fmt.Sprintf(`href="%s"`, draft), "<td>rollback</td>", "rollback of shop/web in dev")
	version := formValue(t, bob.page(draft), draft+"/approve", "version")
	if status, page, _ := bob.submit(draft+"/approve", url.Values{"version": {version}}); status != http.StatusOK || cfgDraft(t, srv, id).State != gatehouse.DraftApproved {
		t.Fatalf("approve the rollback: %d\n%s", status, page)
	}
	status, page, _ = admin.submit(draft+"/publish", nil)
	var queued int64
	if _, err := fmt.Sscanf(page[strings.Index(page, "queued as deployment "):], "queued as deployment %d", &queued); status != http.StatusOK || err != nil {
		t.Fatalf("publish the rollback: %d %v\n%s", status, err, page)
	}
	haContains(t, "the published rollback draft", page, fmt.Sprintf(`href="%s/deployments/%d"`, app, queued))
	var d gatehouse.Deployment
	srv.Must(srv.Admin.Do(context.Background(), "GET", fmt.Sprintf("/api/v1/projects/shop/apps/web/deployments/%d", queued), nil, nil, &d))
	if d.Kind != gatehouse.KindRollback || d.RollbackOf != 1 || d.Digest != haDigest1 {
		t.Fatalf("the published rollback queued %+v", d)
	}

	// Deployment 2 runs the live configuration: rolling back to it needs no approval.
	page = admin.page(app + "/deployments/2/rollback")
	haContains(t, "rollback page of deployment 2", page, ">Roll back to deployment 2</button>", "so it needs no configuration approval")
	if strings.Contains(page, "Propose the rollback for approval") {
		t.Fatalf("a rollback to the live configuration is offered as a proposal:\n%s", page)
	}
	// Proposed anyway (a page read before the configuration changed back), the server says it
	// needs none and the page offers the rollback itself.
	status, page, _ = admin.submit(app+"/deployments/2/rollback", url.Values{"action": {"propose"}})
	if status != http.StatusPreconditionFailed || !strings.Contains(page, "The server judges that this rollback needs no configuration approval") || !strings.Contains(page, ">Roll back to deployment 2</button>") {
		t.Fatalf("a proposal the server refuses: %d\n%s", status, page)
	}
}

// TestRollbackShowsSecretKeys: the rollback page says which secret keys the rollback would
// change, against what runs now and against the live configuration, never their values.
func TestRollbackShowsSecretKeys(t *testing.T) { testdb.ForEach(t, rollbackShowsSecretKeys) }

func rollbackShowsSecretKeys(t *testing.T, engine string) {
	const planted = "planted-rollback-secret-5521"
	srv := haWorld(t, engine) // deployments 1 and 2 of dev, without secrets
	srv.Setup(testserver.Put("/api/v1/projects/shop/apps/web/environments/dev/config/secrets", gatehouse.ConfigWrite{Content: "DB_PASSWORD: " + planted + "\n"}))
	admin := signInPages(t, srv, "admin", nil)
	const rollback = "/ui/projects/shop/apps/web/deployments/2/rollback"
	page := admin.page(rollback)
	haContains(t, "rollback page with a secret set since", page, "These changes are live but not deployed yet", "&#43; secrets.DB_PASSWORD: •••")

	// Deployment 3 runs with the secret: rolling back to 2 removes it.
	srv.Setup(testserver.Post("/api/v1/projects/shop/apps/web/deployments", gatehouse.DeploymentCreate{Environment: "dev", Digest: haDigest2}))
	if _, err := srv.DB.Raw().Exec(`UPDATE deployments SET state = 'succeeded' WHERE id = 3`); err != nil {
		t.Fatal(err)
	}
	second := admin.page(rollback)
	haContains(t, "rollback page of a deployment without the secret", second, "- secrets.DB_PASSWORD: •••", "None: deployment 3 runs the live configuration")
	for _, p := range []string{page, second} {
		if strings.Contains(p, planted) {
			t.Fatalf("the rollback page shows the secret value:\n%s", p)
		}
	}
}
