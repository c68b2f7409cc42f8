package ui_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

// TestBreakGlassPages: prod frozen and gated, the deploy page says the window is closed and
// offers a clearly marked break-glass form that needs both the box and a reason; through it
// erin deploys, the deployment and the pipeline wear the badge, and once the review is past
// due bob finds it on his home page, acknowledges it with a comment, and it leaves the list.
func TestBreakGlassPages(t *testing.T) { testdb.ForEach(t, breakGlassPages) }

func breakGlassPages(t *testing.T, engine string) {
	srv := haWorld(t, engine)
	srv.Person("erin", "deployer@project:shop", "break-glass@project:shop")
	srv.Person("bob", "image-approver@project:shop/env:prod")
	now, end := time.Now(), time.Now().Add(30*24*time.Hour)
	srv.Setup(testserver.Post("/api/v1/policies", gatehouse.PolicySpec{Name: "gate", Scope: "project:shop/env:prod", Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}}),
		testserver.Post("/api/v1/windows", gatehouse.WindowSpec{Name: "freeze", Kind: gatehouse.WindowDeny, Scope: "project:shop/env:prod",
			TimeZone: "Europe/Berlin", Start: &now, End: &end}))
	erin, bob := signInPages(t, srv, "erin", nil), signInPages(t, srv, "bob", nil)
	const app = "/ui/projects/shop/apps/web"
	deploy := app + "/deploy?env=prod&digest=" + haDigest2
	haContains(t, "deploy page", erin.page(deploy), "closed by window freeze: opens", "Break the glass", `value="break-glass"`, `name="confirm"`)
	haContains(t, "pipeline page", erin.page(app), "closed by window freeze: opens")
	var req gatehouse.ApprovalRequest
	srv.Must(srv.Login("erin").Do(t.Context(), "POST", "/api/v1/projects/shop/apps/web/approvals", nil, gatehouse.ApprovalCreate{Environment: "prod", Digest: haDigest1}, &req))
	haContains(t, "the approval's page, as its approver reads it", bob.page(fmt.Sprintf("/ui/approvals/%d", req.ID)), "closed by window freeze: opens")

	form := url.Values{"env": {"prod"}, "digest": {haDigest2}, "action": {"break-glass"}, "reason": {"payments are failing: roll the fix out now"}}
	if resp, body := erin.post(app+"/deploy", form); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "tick the box") {
		t.Fatalf("without the box: %d\n%s", resp.StatusCode, body)
	}
	form.Set("confirm", "yes")
	status, page, at := erin.submit(app+"/deploy", form)
	if status != http.StatusOK || !strings.Contains(at, app+"/deployments/") {
		t.Fatalf("break-glass deploy: %d at %s\n%s", status, at, page)
	}
	haContains(t, "the deployment", page, `class="badge breakglass"`, "payments are failing")
	haContains(t, "history", erin.page(app+"/history?env=prod"), `class="badge breakglass"`)
	if strings.Contains(bob.page("/ui/"), "Overdue break-glass reviews") {
		t.Fatal("a review shows as overdue before it is due")
	}

	srv.Advance(73 * time.Hour) // sessions end too: sign in again
	erin, bob = signInPages(t, srv, "erin", nil), signInPages(t, srv, "bob", nil)
	haContains(t, "bob's home page", bob.page("/ui/"), "Overdue break-glass reviews", `href="/ui/reviews/1"`)
	haContains(t, "erin's view of the review", erin.page("/ui/reviews/1"), "You broke the glass")
	review := bob.page("/ui/reviews/1")
	haContains(t, "the review", review, "payments are failing", "Passed over the approval of: gate", "Passed through closed windows: freeze", "overdue")
	if resp, body := bob.post("/ui/reviews/1/acknowledge", nil); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "comment") {
		t.Fatalf("without a comment: %d\n%s", resp.StatusCode, body)
	}
	if status, page, _ := bob.submit("/ui/reviews/1/acknowledge", url.Values{"comment": {"read the fix and the incident"}}); status != http.StatusOK ||
		!strings.Contains(page, "bob acknowledged") {
		t.Fatalf("acknowledge: %d\n%s", status, page)
	}
	if strings.Contains(bob.page("/ui/"), "Overdue break-glass reviews") {
		t.Fatal("an acknowledged review is still listed")
	}
}
