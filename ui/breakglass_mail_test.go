package ui_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
	"github.com/gatehousehq/gatehouse/internal/wire"
)

// TestBreakGlassIsTold: a break-glass deployment mails the approvers of the gate it passed
// over through a real SMTP server, at once, with the reason and a link to the review, and
// posts breakglass.used to the webhook that subscribed to it; once the review is past due,
// they are mailed again.
func TestBreakGlassIsTold(t *testing.T) {
	mp, mailer := mailServer(t)
	srv := testserver.StartDeploying(t, "sqlite", func(o *wire.WorkerOptions) { o.Mailer = mailer })
	h := &hooks{}
	hookSrv := httptest.NewServer(h)
	defer hookSrv.Close()
	srv.Setup(
		testserver.Post("/api/v1/projects", gatehouse.ProjectCreate{Name: "shop"}),
		testserver.Post("/api/v1/clusters", gatehouse.ClusterCreate{Name: "k", Kubeconfig: gatehouse.OutgoingSecret(testdb.Kubeconfig)}),
		testserver.Post("/api/v1/projects/shop/environments", gatehouse.EnvironmentCreate{Name: "prod", Cluster: "k", Namespace: "shop"}),
		testserver.Post("/api/v1/projects/shop/apps", gatehouse.AppCreate{Name: "web"}),
		testserver.Put("/api/v1/projects/shop/apps/web/pipeline", gatehouse.PipelineSet{Stages: []gatehouse.Stage{{Environment: "prod"}}}),
		testserver.Post("/api/v1/projects/shop/webhooks", gatehouse.WebhookCreate{Name: "pager", URL: gatehouse.OutgoingSecret(hookSrv.URL),
			Secret: gatehouse.OutgoingSecret("hook-secret"), Events: []string{gatehouse.EventBreakGlassUsed}}),
		testserver.Post("/api/v1/users", gatehouse.UserCreate{Name: "bob", Email: "bob@example.com", Password: gatehouse.OutgoingSecret(testserver.Password)}),
		testserver.Post("/api/v1/rolebindings", gatehouse.RoleBindingCreate{User: "bob", Role: gatehouse.RoleImageApprover, Scope: "project:shop"}),
	)
	erin := srv.Person("erin", "deployer@project:shop", "break-glass@project:shop")
	srv.Setup(testserver.Post("/api/v1/policies", gatehouse.PolicySpec{Name: "prod-gate", Scope: "project:shop/env:prod", Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}}))
	digest := "sha256:" + strings.Repeat("cd", 32)
	ctx := context.Background()
	srv.Must(srv.Admin.Do(ctx, "POST", "/api/v1/projects/shop/apps/web/artifacts", nil, gatehouse.ArtifactCreate{Image: "registry.example.com/web@" + digest}, nil))
	srv.Must(erin.Do(ctx, "POST", "/api/v1/projects/shop/apps/web/deployments", nil,
		gatehouse.DeploymentCreate{Environment: "prod", Digest: digest, BreakGlass: "payments are failing: the fix cannot wait"}, nil))

	t.Cleanup(func() {
		if t.Failed() {
			t.Log(srv.Log.String())
		}
	})
	mail := mp.Mails(t, 1)[0]
	if mail.To[0].Address != "bob@example.com" || !strings.HasPrefix(mail.Subject, "Break-glass: erin deployed shop/web in prod past its gate") ||
		!strings.Contains(mail.Text, "payments are failing") || !strings.Contains(mail.Text, "Passed over the approval of: prod-gate") ||
		!strings.Contains(mail.Text, "/ui/reviews/1") {
		t.Fatalf("mail to %v: %q\n%s", mail.To, mail.Subject, mail.Text)
	}
	if events, bad := h.wait(1); len(events) != 1 || events[0] != gatehouse.EventBreakGlassUsed || bad != 0 ||
		!strings.Contains(h.bodies()[0], "payments are failing") {
		t.Fatalf("webhook: %v (%d bad) %v", events, bad, h.bodies())
	}

	srv.Advance(73 * time.Hour)
	if mails := mp.Mails(t, 2); !strings.HasPrefix(mails[1].Subject, "Overdue: review of break-glass deployment") && !strings.HasPrefix(mails[0].Subject, "Overdue") {
		t.Fatalf("no reminder: %q, %q", mails[0].Subject, mails[1].Subject)
	}
}
