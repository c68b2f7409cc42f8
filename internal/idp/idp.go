// Package idp runs a real OpenID Connect provider for tests: zitadel/oidc's provider with its
// example storage and password login page, serving discovery, signed ID tokens, PKCE and
// userinfo over HTTP on a local port. Each person may carry a groups claim (in userinfo).
package idp

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// Person is someone the provider knows.
type Person struct {
	ID, Username, Password, Email string
	EmailVerified                 bool
	FirstName, LastName           string
	Groups                        []string
}

// Provider is a running provider with one registered web client.
type Provider struct {
	Issuer, ClientID, ClientSecret string

	mu     sync.Mutex
	groups map[string][]string // by subject
}

// withGroups adds the groups claim to userinfo answers.
type withGroups struct {
	*storage.Storage
	p *Provider
}

func (s withGroups) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, origin string) error {
	if err := s.Storage.SetUserinfoFromToken(ctx, info, tokenID, subject, origin); err != nil {
		return err
	}
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	if g, ok := s.p.groups[info.Subject]; ok {
		info.AppendClaims("groups", g)
	}
	return nil
}

// quiet silences the provider's request log: SetupServer makes its logger the process's
// default, which Gatehouse never uses (its loggers are passed in).
var quiet = slog.New(slog.DiscardHandler)

// Start runs a provider until the test ends; redirectURL is the client's registered callback.
func Start(tb testing.TB, redirectURL string, people ...Person) *Provider {
	tb.Helper()
	users := map[string]*storage.User{}
	p := &Provider{ClientID: "gatehouse", ClientSecret: "idp-client-secret", groups: map[string][]string{}}
	for _, pr := range people {
		users[pr.ID] = &storage.User{ID: pr.ID, Username: pr.Username, Password: pr.Password, FirstName: pr.FirstName,
			LastName: pr.LastName, Email: pr.Email, EmailVerified: pr.EmailVerified}
		if pr.Groups != nil {
			p.groups[pr.ID] = pr.Groups
		}
	}
	b, err := json.Marshal(users)
	if err != nil {
		tb.Fatal(err)
	}
	file := filepath.Join(tb.TempDir(), "users.json")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		tb.Fatal(err)
	}
	store, err := storage.StoreFromFile(file)
	if err != nil {
		tb.Fatalf("idp users: %v", err)
	}
	clients := map[string]*storage.Client{p.ClientID: storage.WebClient(p.ClientID, p.ClientSecret, redirectURL)}
	hs := httptest.NewUnstartedServer(nil)
	p.Issuer = "http://" + hs.Listener.Addr().String()
	hs.Config.Handler = exampleop.SetupServer(p.Issuer, withGroups{storage.NewStorageWithClients(store, clients), p}, quiet, false)
	hs.Start()
	tb.Cleanup(hs.Close)
	return p
}

// SetGroups changes the groups claim of a person (nil: none).
func (p *Provider) SetGroups(id string, groups []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.groups[id] = groups
}

var loginID = regexp.MustCompile(`name="id" value="([^"]+)"`)

// SignIn is a browser's walk through single sign-on without a browser: it opens start (a
// Gatehouse address that sends the visitor to the provider) with c, fills the provider's
// login form, and follows the redirects back. It returns the last response, body read.
func (p *Provider) SignIn(tb testing.TB, c *http.Client, start, username, password string) (*http.Response, string) {
	tb.Helper()
	resp, body := get(tb, c, start)
	m := loginID.FindStringSubmatch(body)
	if m == nil {
		return resp, body // not at the provider's login form: Gatehouse answered itself
	}
	form := url.Values{"id": {m[1]}, "username": {username}, "password": {password}}
	resp, err := c.PostForm(p.Issuer+"/login/username", form)
	if err != nil {
		tb.Fatalf("idp login: %v", err)
	}
	return resp, readAll(tb, resp)
}

func get(tb testing.TB, c *http.Client, u string) (*http.Response, string) {
	tb.Helper()
	resp, err := c.Get(u)
	if err != nil {
		tb.Fatalf("GET %s: %v", u, err)
	}
	return resp, readAll(tb, resp)
}

func readAll(tb testing.TB, resp *http.Response) string {
	tb.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
