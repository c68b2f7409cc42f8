package sso

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
)

// TestNewRefusesBadConfig: each wrong setting is refused naming it and what is expected.
func TestNewRefusesBadConfig(t *testing.T) {
	ok := Config{Issuer: "https://id.example.com", ClientID: "gatehouse", ClientSecret: gatehouse.NewSecret("s"),
		RedirectURL: "https://gatehouse.example.com/ui/sso/callback"}
	cases := []struct {
		change func(*Config)
		field  string
	}{
		{func(c *Config) { c.Issuer = "" }, "sso-issuer"},
		{func(c *Config) { c.Issuer = "http://id.example.com" }, "sso-issuer"},
		{func(c *Config) { c.ClientID = "" }, "sso-client-id"},
		{func(c *Config) { c.ClientSecret = gatehouse.Secret{} }, "sso-client-secret-file"},
		{func(c *Config) { c.RedirectURL = "ftp://x/cb" }, "sso-redirect-url"},
		{func(c *Config) { c.SyncGroups, c.GroupsClaim = true, "" }, "sso-groups-claim"},
		{func(c *Config) { c.EmailDomains = []string{"me@bank.example"} }, "sso-email-domain"},
	}
	for _, c := range cases {
		cfg := ok
		c.change(&cfg)
		_, err := New(cfg)
		var e *gatehouse.Error
		if !errors.As(err, &e) || e.Field != c.field || e.Kind != gatehouse.KindInvalid {
			t.Errorf("%+v: %v, want invalid %s", cfg, err, c.field)
		}
	}
	for _, local := range []string{"http://127.0.0.1:5556/dex", "http://localhost:8080", "https://id.example.com/realms/x"} {
		cfg := ok
		cfg.Issuer = local
		if p, err := New(cfg); err != nil || p.Name() != "single sign-on" {
			t.Errorf("issuer %s: %v", local, err)
		}
	}
}

// TestGroupsClaim: a list or a single name is read, duplicates and non-strings dropped; no
// configured claim, or none sent, is nil (so nothing is synced).
func TestGroupsClaim(t *testing.T) {
	p := &Provider{cfg: Config{GroupsClaim: "groups"}}
	if got := p.groups(map[string]any{"groups": []any{"sre", 7, "sre", "dev"}}); !slices.Equal(got, []string{"sre", "dev"}) {
		t.Errorf("list: %v", got)
	}
	if got := p.groups(map[string]any{"groups": "sre"}); !slices.Equal(got, []string{"sre"}) {
		t.Errorf("one name: %v", got)
	}
	if got := p.groups(map[string]any{"groups": []any{}}); got == nil || len(got) != 0 {
		t.Errorf("an empty list must sync to no groups, not be ignored: %#v", got)
	}
	if got := p.groups(map[string]any{}); got != nil {
		t.Errorf("no claim: %v", got)
	}
	if got := (&Provider{}).groups(map[string]any{"groups": "sre"}); got != nil {
		t.Errorf("no configured claim: %v", got)
	}
}

// TestUnreachableProvider: with the provider down, a sign-in attempt is refused as
// unavailable without leaking the address's internals, and the server keeps no half-state:
// a later attempt tries discovery again.
func TestUnreachableProvider(t *testing.T) {
	p, err := New(Config{Issuer: "http://127.0.0.1:1", ClientID: "g", ClientSecret: gatehouse.NewSecret("s"), RedirectURL: "http://127.0.0.1/cb"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		_, err := p.AuthURL(context.Background(), "state", "nonce", strings.Repeat("v", 43))
		if gatehouse.KindOf(err) != gatehouse.KindUnavailable || strings.Contains(gatehouse.PublicError(err).Error(), "127.0.0.1") {
			t.Fatalf("provider down: %v (public: %v)", err, gatehouse.PublicError(err))
		}
	}
	if p.op != nil {
		t.Fatal("a failed discovery was kept")
	}
}
