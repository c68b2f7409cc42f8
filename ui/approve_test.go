package ui_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/mailpit"
	"github.com/gatehousehq/gatehouse/internal/testbed"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
	"github.com/gatehousehq/gatehouse/internal/wire"
	"github.com/gatehousehq/gatehouse/notify"
)

// hooks records webhook deliveries and checks their signatures.
type hooks struct {
	mu      sync.Mutex
	events  []string
	body    []string
	bad     int
	arrived chan struct{} // closed (and replaced) at each delivery
}

func (h *hooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	mac := hmac.New(sha256.New, []byte("hook-secret"))
	mac.Write(body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Header.Get("X-Gatehouse-Signature") != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
		h.bad++
	}
	h.events = append(h.events, r.Header.Get("X-Gatehouse-Event"))
	h.body = append(h.body, string(body))
	if h.arrived != nil {
		close(h.arrived)
		h.arrived = nil
	}
}

func (h *hooks) bodies() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.body...)
}

// wait waits up to 10 seconds for n deliveries and returns the events delivered and how many
// deliveries had a bad signature.
func (h *hooks) wait(n int) (events []string, bad int) {
	timeout := time.After(10 * time.Second)
	for {
		h.mu.Lock()
		events, bad = append([]string(nil), h.events...), h.bad
		if h.arrived == nil {
			h.arrived = make(chan struct{})
		}
		arrived := h.arrived
		h.mu.Unlock()
		if len(events) >= n {
			return events, bad
		}
		select {
		case <-arrived:
		case <-timeout:
			return events, bad
		}
	}
}

// TestApproveByEmail is the whole path: a request mails the approver through a real SMTP
// server (STARTTLS, AUTH); the test reads the mail, opens the link (which records nothing, as
// a mail scanner's visit must not), posts the page's form, and the approval starts the auto
// stage's deployment on a real cluster. The link then refuses a second use.
func TestApproveByEmail(t *testing.T) {
	cluster := testbed.StartT(t, testbed.Options{Nodes: 1}) // one cluster: each engine deploys to its own namespace
	testdb.ForEach(t, func(t *testing.T, engine string) { approveByEmail(t, engine, cluster) })
}

// mailServer starts a real SMTP server that takes STARTTLS and AUTH, and a mailer for it.
func mailServer(t *testing.T) (*mailpit.Server, notify.Mailer) {
	t.Helper()
	mp := mailpit.Start(t, mailpit.Options{STARTTLS: true, Username: "gatehouse", Password: "smtp-pass-123"})
	mailer, err := notify.NewSMTP(notify.SMTPConfig{Host: mp.SMTPHost, Port: mp.SMTPPort, TLS: notify.TLSStartTLS, SkipVerify: true,
		Username: "gatehouse", Password: gatehouse.NewSecret("smtp-pass-123"), From: "gatehouse@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	return mp, mailer
}

func approveByEmail(t *testing.T, engine string, cluster *testbed.Cluster) {
	mp, mailer := mailServer(t)
	srv := testserver.StartDeploying(t, engine, func(o *wire.WorkerOptions) { o.Mailer = mailer })
	ctx := context.Background()
	h := &hooks{}
	hookSrv := httptest.NewServer(h)
	defer hookSrv.Close()
	srv.Setup(
		testserver.Post("/api/v1/projects", gatehouse.ProjectCreate{Name: "shop"}),
		testserver.Post("/api/v1/clusters", gatehouse.ClusterCreate{Name: "k", Kubeconfig: gatehouse.OutgoingSecret(string(cluster.Kubeconfig()))}),
		testserver.Post("/api/v1/projects/shop/environments", gatehouse.EnvironmentCreate{Name: "prod", Cluster: "k", Namespace: "shop-" + engine}),
		testserver.Post("/api/v1/projects/shop/apps", gatehouse.AppCreate{Name: "web", Values: "replicas: 2\n"}),
		testserver.Put("/api/v1/projects/shop/apps/web/pipeline", gatehouse.PipelineSet{Stages: []gatehouse.Stage{{Environment: "prod", Trigger: "auto"}}}),
		testserver.Post("/api/v1/projects/shop/webhooks", gatehouse.WebhookCreate{Name: "audit", URL: gatehouse.OutgoingSecret(hookSrv.URL), Secret: gatehouse.OutgoingSecret("hook-secret")}),
		testserver.Post("/api/v1/users", gatehouse.UserCreate{Name: "alice", Email: "alice@example.com", Password: gatehouse.OutgoingSecret(testserver.Password)}),
		testserver.Post("/api/v1/users", gatehouse.UserCreate{Name: "bob", Email: "bob@example.com", Password: gatehouse.OutgoingSecret(testserver.Password)}),
		testserver.Post("/api/v1/rolebindings", gatehouse.RoleBindingCreate{User: "alice", Role: gatehouse.RoleDeployer, Scope: "project:shop"}),
		testserver.Post("/api/v1/rolebindings", gatehouse.RoleBindingCreate{User: "bob", Role: gatehouse.RoleImageApprover, Scope: "project:shop"}),
		testserver.Post("/api/v1/policies", gatehouse.PolicySpec{Name: "prod", Scope: "project:shop/env:prod", Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}}),
	)
	digest := "sha256:" + strings.Repeat("ab", 32)
	srv.Must(srv.Admin.Do(ctx, "POST", "/api/v1/projects/shop/apps/web/artifacts", nil, gatehouse.ArtifactCreate{Image: "registry.example.com/web:2.0@" + digest}, nil))
	alice := srv.Login("alice")
	var req gatehouse.ApprovalRequest
	srv.Must(alice.Do(ctx, "POST", "/api/v1/projects/shop/apps/web/approvals", nil,
		gatehouse.ApprovalCreate{Environment: "prod", Digest: digest, Comment: "fixes the checkout", Notify: []string{"bob"}}, &req))

	mail := mp.Mails(t, 1)[0]
	if mail.To[0].Address != "bob@example.com" || !strings.HasPrefix(mail.Subject, "Approval requested: shop/web → prod") ||
		!strings.Contains(mail.Text, "fixes the checkout") || mail.Username != "gatehouse" {
		t.Fatalf("mail to %v: %q\n%s", mail.To, mail.Subject, mail.Text)
	}
	link := regexp.MustCompile(`http://[^\s"<]+/approve/gha_[A-Za-z0-9_-]+`).FindString(mail.Text)
	if link == "" || !strings.Contains(mail.HTML, link) {
		t.Fatalf("no approve link in the mail:\n%s", mail.Text)
	}

	// A mail scanner follows the link: nothing is recorded.
	if resp, err := http.Get(link); err != nil || resp.StatusCode != 200 {
		t.Fatalf("scanner GET: %v %v", resp, err)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"registry.example.com/web@" + digest, "fixes the checkout", "alice", "Approve", "replicas"} {
		if !strings.Contains(string(page), want) {
			t.Fatalf("confirmation page lacks %q:\n%s", want, page)
		}
	}
	var got gatehouse.ApprovalRequest
	srv.Must(srv.Admin.Do(ctx, "GET", "/api/v1/approvals/1", nil, nil, &got))
	if len(got.Votes) != 0 {
		t.Fatalf("opening the link voted: %+v", got.Votes)
	}
	csrf := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(string(page))[1]
	// A forged POST without the page's token is refused.
	if resp, err := http.PostForm(link, url.Values{"decision": {"approve"}, "csrf_token": {csrf}}); err != nil || resp.StatusCode != 403 {
		t.Fatalf("POST without the CSRF cookie: %v %v", resp.StatusCode, err)
	}
	resp, err = browser.PostForm(link, url.Values{"decision": {"approve"}, "csrf_token": {csrf}, "comment": {"looks good"}})
	if err != nil {
		t.Fatal(err)
	}
	done, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(done), "Your approval is recorded") {
		t.Fatalf("POST: %d\n%s", resp.StatusCode, done)
	}
	// The auto stage deploys at once and the request is consumed.
	deadline := time.Now().Add(60 * time.Second)
	var d gatehouse.Deployment
	for time.Now().Before(deadline) {
		srv.Must(srv.Admin.Do(ctx, "GET", "/api/v1/approvals/1", nil, nil, &got))
		if got.Deployment != 0 {
			srv.Must(srv.Admin.Do(ctx, "GET", "/api/v1/projects/shop/apps/web/deployments/"+jsonNum(got.Deployment), nil, nil, &d))
			if d.State.Terminal() {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got.State != gatehouse.ApprovalConsumed || d.State != gatehouse.StateSucceeded || len(got.Votes) != 1 ||
		got.Votes[0].Voter != "bob" || got.Votes[0].Via != gatehouse.AuthLink || !strings.HasPrefix(d.TriggeredBy, "pipeline (approval 1)") {
		t.Fatalf("after approving by mail: request %s votes %+v, deployment %s by %q", got.State, got.Votes, d.State, d.TriggeredBy)
	}
	// Used links are refused; alice hears of the approval and the deployment.
	resp, err = browser.Get(link)
	if err != nil || resp.StatusCode != 401 {
		t.Fatalf("second use: %v %v", resp.StatusCode, err)
	}
	var toAlice []string
	for _, m := range mp.Mails(t, 3) {
		if m.To[0].Address == "alice@example.com" {
			toAlice = append(toAlice, strings.SplitN(m.Subject, ":", 2)[0])
		}
	}
	if !strings.Contains(strings.Join(toAlice, ","), "Approved") || !strings.Contains(strings.Join(toAlice, ","), "Deploying") {
		t.Fatalf("alice got %v", toAlice)
	}
	delivered, bad := h.wait(3)
	events := strings.Join(delivered, ",")
	for _, want := range []string{"approval.requested", "approval.approved", "approval.deployed"} {
		if !strings.Contains(events, want) {
			t.Fatalf("webhook got %s, not %s", events, want)
		}
	}
	if bad != 0 {
		t.Fatalf("%d webhook deliveries had a bad signature", bad)
	}
	linkNotLogged(t, srv, link)
}

func jsonNum(n int64) string { b, _ := json.Marshal(n); return string(b) }

// linkNotLogged fails unless the server logged a line for each GET and POST of the approve
// link, with its token redacted, and the token's text appears nowhere in the server's log
// (whoever reads logs could otherwise vote as the link's recipient).
func linkNotLogged(t *testing.T, srv *testserver.Server, link string) {
	t.Helper()
	token := link[strings.Index(link, "/approve/")+len("/approve/"):]
	logs := srv.Log.String()
	for _, s := range []string{token, token[4:20]} {
		if strings.Contains(logs, s) {
			t.Fatalf("the server log holds the approve link's token (%s…):\n%s", s[:8], logs)
		}
	}
	methods := map[string]bool{}
	for _, line := range strings.Split(logs, "\n") {
		var l struct{ Msg, Method, Path string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "request" && l.Path == "/approve/[redacted]" {
			methods[l.Method] = true
		}
	}
	if !methods["GET"] || !methods["POST"] {
		t.Fatalf("no request line for the approve link's GET and POST (got %v):\n%s", methods, logs)
	}
}
