package ui_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/mailpit"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
	"github.com/gatehousehq/gatehouse/internal/wire"
	"github.com/gatehousehq/gatehouse/notify"
)

// TestApproveDraftByEmail: proposing a protected secrets change mails the config approver a
// single-use link through a real SMTP server; the page behind it shows which keys change but
// never a secret value, opening it records nothing, and its form approves the draft. The
// author hears of the approval; the webhook of both events; no mail or page holds the secret.
func TestApproveDraftByEmail(t *testing.T) {
	testdb.ForEach(t, approveDraftByEmail)
}

func approveDraftByEmail(t *testing.T, engine string) {
	const planted = "planted-db-password-5521"
	mp := mailpit.Start(t, mailpit.Options{})
	mailer, err := notify.NewSMTP(notify.SMTPConfig{Host: mp.SMTPHost, Port: mp.SMTPPort, TLS: notify.TLSNone, From: "gatehouse@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	srv := testserver.StartDeploying(t, engine, func(o *wire.WorkerOptions) { o.Mailer = mailer })
	ctx := context.Background()
	h := &hooks{}
	hookSrv := httptest.NewServer(h)
	defer hookSrv.Close()
	srv.Setup(
		testserver.Post("/api/v1/projects", gatehouse.ProjectCreate{Name: "shop"}),
		testserver.Post("/api/v1/clusters", gatehouse.ClusterCreate{Name: "k", Kubeconfig: gatehouse.OutgoingSecret(testdb.Kubeconfig)}),
		testserver.Post("/api/v1/projects/shop/environments", gatehouse.EnvironmentCreate{Name: "prod", Cluster: "k", Namespace: "shop"}),
		testserver.Post("/api/v1/projects/shop/apps", gatehouse.AppCreate{Name: "web"}),
		testserver.Post("/api/v1/projects/shop/webhooks", gatehouse.WebhookCreate{Name: "audit", URL: gatehouse.OutgoingSecret(hookSrv.URL),
			Secret: gatehouse.OutgoingSecret("hook-secret"), Events: gatehouse.DraftEvents}),
		testserver.Post("/api/v1/users", gatehouse.UserCreate{Name: "alice", Email: "alice@example.com", Password: gatehouse.OutgoingSecret(testserver.Password)}),
		testserver.Post("/api/v1/users", gatehouse.UserCreate{Name: "bob", Email: "bob@example.com", Password: gatehouse.OutgoingSecret(testserver.Password)}),
		testserver.Post("/api/v1/rolebindings", gatehouse.RoleBindingCreate{User: "alice", Role: gatehouse.RoleAdmin, Scope: "project:shop"}),
		testserver.Post("/api/v1/rolebindings", gatehouse.RoleBindingCreate{User: "bob", Role: gatehouse.RoleConfigApprover, Scope: "project:shop"}),
		testserver.Post("/api/v1/policies", gatehouse.PolicySpec{Name: "prod-config", Kind: gatehouse.PolicyConfig, Scope: "project:shop/env:prod",
			Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}}),
	)
	alice := srv.Login("alice")
	var d gatehouse.Draft
	srv.Must(alice.Do(ctx, "POST", "/api/v1/projects/shop/apps/web/environments/prod/config/secrets/drafts", nil,
		gatehouse.ConfigWrite{Content: "DB_PASSWORD: " + planted + "\n", Comment: "new database"}, &d))
	srv.Must(alice.Do(ctx, "POST", fmt.Sprintf("/api/v1/drafts/%d/propose", d.ID), nil, gatehouse.DraftPropose{Comment: "please"}, nil))

	mail := mp.Mails(t, 1)[0]
	if mail.To[0].Address != "bob@example.com" || !strings.HasPrefix(mail.Subject, "Change proposed: shop/web") ||
		!strings.Contains(mail.Text, "DB_PASSWORD") || !strings.Contains(mail.Text, "secrets") {
		t.Fatalf("mail to %v: %q\n%s", mail.To, mail.Subject, mail.Text)
	}
	link := regexp.MustCompile(`http://[^\s"<]+/approve/ghc_[A-Za-z0-9_-]+`).FindString(mail.Text)
	if link == "" {
		t.Fatalf("no approve link in the mail:\n%s", mail.Text)
	}
	seen := []string{mail.Text, mail.HTML}

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	page := get(t, browser, link)
	seen = append(seen, page)
	for _, want := range []string{"DB_PASSWORD", "alice", "Approve", "prod-config"} {
		if !strings.Contains(page, want) {
			t.Fatalf("confirmation page lacks %q:\n%s", want, page)
		}
	}
	var got gatehouse.Draft
	srv.Must(srv.Admin.Do(ctx, "GET", fmt.Sprintf("/api/v1/drafts/%d", d.ID), nil, nil, &got))
	if len(got.Votes) != 0 || got.State != gatehouse.DraftProposed {
		t.Fatalf("opening the link voted: %s %+v", got.State, got.Votes)
	}
	csrf := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(page)[1]
	version := regexp.MustCompile(`name="version" value="(\d+)"`).FindStringSubmatch(page) // the version the page showed
	if version == nil {
		t.Fatalf("the confirmation form carries no version:\n%s", page)
	}
	resp, err := browser.PostForm(link, url.Values{"decision": {"approve"}, "csrf_token": {csrf}, "version": {version[1]}})
	if err != nil {
		t.Fatal(err)
	}
	done, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(done), "Your approval is recorded") || !strings.Contains(string(done), "approved") {
		t.Fatalf("POST: %d\n%s", resp.StatusCode, done)
	}
	srv.Must(srv.Admin.Do(ctx, "GET", fmt.Sprintf("/api/v1/drafts/%d", d.ID), nil, nil, &got))
	if got.State != gatehouse.DraftApproved || len(got.Votes) != 1 || got.Votes[0].Voter != "bob" || got.Votes[0].Via != gatehouse.AuthLink {
		t.Fatalf("after approving by mail: %s %+v", got.State, got.Votes)
	}
	if resp, err := browser.Get(link); err != nil || resp.StatusCode != 401 {
		t.Fatalf("second use: %v %v", resp.StatusCode, err)
	}
	for _, m := range mp.Mails(t, 2) {
		seen = append(seen, m.Subject, m.Text, m.HTML)
		if m.To[0].Address == "alice@example.com" && !strings.HasPrefix(m.Subject, "Change approved") {
			t.Fatalf("alice got %q", m.Subject)
		}
	}
	if delivered, bad := h.wait(2); strings.Join(delivered, ",") != gatehouse.EventDraftProposed+","+gatehouse.EventDraftApproved || bad != 0 {
		t.Fatalf("webhook got %v (%d badly signed)", delivered, bad)
	}
	seen = append(seen, h.bodies()...)
	seen = append(seen, srv.Log.String())
	for _, s := range seen {
		if strings.Contains(s, planted) {
			t.Fatalf("a mail, page, webhook or log line shows the secret value:\n%s", s)
		}
	}
	linkNotLogged(t, srv, link)
}

func get(t *testing.T, c *http.Client, link string) string {
	t.Helper()
	resp, err := c.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d\n%s", link, resp.StatusCode, b)
	}
	return string(b)
}
