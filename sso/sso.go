// Package sso signs people in through an OpenID Connect provider (Okta, Entra ID, Keycloak,
// Dex, Google…): the authorization code flow with PKCE (S256) and a nonce, the ID token's
// signature, issuer, audience, expiry and nonce checked, and the person's claims turned into a
// gatehouse.ExternalLogin for the identity service.
package sso

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehousehq/gatehouse"
)

// Config is how Gatehouse is registered with the provider and what a sign-in may do.
type Config struct {
	// Name labels the sign-in button ("Sign in with NAME").
	Name         string
	Issuer       string
	ClientID     string
	ClientSecret gatehouse.Secret
	// RedirectURL is Gatehouse's callback as registered with the provider
	// (https://gatehouse.example.com/ui/sso/callback).
	RedirectURL string
	// Scopes are asked for besides openid (default: email, profile).
	Scopes []string
	// GroupsClaim names the claim that lists the person's groups ("" for none).
	GroupsClaim  string
	CreateUsers  bool
	SyncGroups   bool
	EmailDomains []string
}

// Validate checks every field, naming the setting that is wrong.
func (c Config) Validate() error {
	if err := checkURL("sso-issuer", c.Issuer); err != nil {
		return err
	}
	if c.ClientID == "" {
		return gatehouse.Invalidf("sso-client-id", "is required with --sso-issuer: the client ID registered with the provider")
	}
	if c.ClientSecret.IsZero() {
		return gatehouse.Invalidf("sso-client-secret-file", "is required with --sso-issuer: a file holding the client secret (or GATEHOUSE_SSO_CLIENT_SECRET)")
	}
	if err := checkURL("sso-redirect-url", c.RedirectURL); err != nil {
		return err
	}
	if c.SyncGroups && c.GroupsClaim == "" {
		return gatehouse.Invalidf("sso-groups-claim", "is empty but --sso-sync-groups is on: expected the claim that lists groups, e.g. groups")
	}
	for _, d := range c.EmailDomains {
		if d == "" || strings.ContainsAny(d, "@/ ") {
			return gatehouse.Invalidf("sso-email-domain", "%q is not a domain: expected e.g. example.com", d)
		}
	}
	return nil
}

// checkURL accepts https, or http on a loopback host (a provider on the same machine).
func checkURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return gatehouse.Invalidf(field, "%q is not a URL: expected https://…", raw)
	}
	if u.Scheme == "http" {
		if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return gatehouse.Invalidf(field, "%q is plain http: expected https:// (http only on localhost)", raw)
		}
	}
	return nil
}

// Provider is a configured OpenID Connect provider. Its discovery document is fetched at the
// first sign-in (and again after a failure), so the server starts while the provider is down.
type Provider struct {
	cfg Config

	mu       sync.Mutex
	op       *oidc.Provider
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// New returns the provider of a valid configuration.
func New(cfg Config) (*Provider, error) {
	if cfg.Name == "" {
		cfg.Name = "single sign-on"
	}
	if cfg.Scopes == nil {
		cfg.Scopes = []string{"email", "profile"}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Provider{cfg: cfg}, nil
}

// Name is the button's label.
func (p *Provider) Name() string { return p.cfg.Name }

var errUnreachable = gatehouse.Errorf(gatehouse.KindUnavailable, "the single sign-on provider cannot be reached: try again, or sign in with a password")

// discover returns the provider's endpoints, fetching them once. The keys are fetched with a
// context that outlives the request, since go-oidc keeps it for later key refreshes.
func (p *Provider) discover(ctx context.Context) (*oidc.Provider, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.op != nil {
		return p.op, nil
	}
	op, err := oidc.NewProvider(context.WithoutCancel(ctx), p.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", errUnreachable, err)
	}
	p.op = op
	p.oauth = oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret.Reveal(), RedirectURL: p.cfg.RedirectURL,
		Endpoint: op.Endpoint(), Scopes: append([]string{oidc.ScopeOpenID}, p.cfg.Scopes...)}
	p.verifier = op.Verifier(&oidc.Config{ClientID: p.cfg.ClientID})
	return op, nil
}

// AuthURL is where to send the browser to sign in: state ties the callback to this browser,
// nonce the ID token to this attempt, and verifier (PKCE) the code to whoever started it.
func (p *Provider) AuthURL(ctx context.Context, state, nonce, verifier string) (string, error) {
	if _, err := p.discover(ctx); err != nil {
		return "", err
	}
	return p.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), nil
}

// claims are the standard claims Gatehouse reads; groups come from the configured claim.
type claims struct {
	Subject           string `json:"sub"`
	Email             string `json:"email"`
	EmailVerified     *bool  `json:"email_verified"`
	PreferredUsername string `json:"preferred_username"`
	Name              string `json:"name"`
}

// Finish redeems the callback's code and checks the ID token. Claims missing from the ID
// token are taken from the userinfo endpoint, for the same subject only. Errors:
// unauthenticated when the provider refuses the code or the token does not verify.
func (p *Provider) Finish(ctx context.Context, code, verifier, nonce string) (gatehouse.ExternalLogin, error) {
	op, err := p.discover(ctx)
	if err != nil {
		return gatehouse.ExternalLogin{}, err
	}
	tok, err := p.oauth.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return gatehouse.ExternalLogin{}, refused("the provider did not accept the sign-in", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return gatehouse.ExternalLogin{}, refused("the provider sent no ID token", nil)
	}
	idt, err := p.verifier.Verify(ctx, raw)
	if err != nil {
		return gatehouse.ExternalLogin{}, refused("the provider's ID token does not verify", err)
	}
	if idt.Nonce != nonce {
		return gatehouse.ExternalLogin{}, refused("the ID token belongs to another sign-in attempt", nil)
	}
	var c claims
	all := map[string]any{}
	if err := idt.Claims(&c); err != nil {
		return gatehouse.ExternalLogin{}, refused("the ID token's claims cannot be read", err)
	}
	_ = idt.Claims(&all)
	if op.UserInfoEndpoint() != "" && (c.Email == "" || (p.cfg.GroupsClaim != "" && all[p.cfg.GroupsClaim] == nil)) {
		if info, err := op.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil && info.Subject == idt.Subject {
			var u claims
			extra := map[string]any{}
			if info.Claims(&u) == nil && info.Claims(&extra) == nil {
				c = merge(c, u)
				for k, v := range extra {
					if _, ok := all[k]; !ok {
						all[k] = v
					}
				}
			}
		}
	}
	return gatehouse.ExternalLogin{
		Identity: gatehouse.ExternalIdentity{Issuer: idt.Issuer, Subject: idt.Subject, Email: c.Email,
			EmailVerified: c.EmailVerified != nil && *c.EmailVerified, Username: c.PreferredUsername, DisplayName: c.Name,
			Groups: p.groups(all)},
		CreateUsers: p.cfg.CreateUsers, SyncGroups: p.cfg.SyncGroups, EmailDomains: p.cfg.EmailDomains,
	}, nil
}

// merge fills the ID token's empty claims from userinfo's.
func merge(c, u claims) claims {
	if c.Email == "" {
		c.Email, c.EmailVerified = u.Email, u.EmailVerified
	}
	if c.PreferredUsername == "" {
		c.PreferredUsername = u.PreferredUsername
	}
	if c.Name == "" {
		c.Name = u.Name
	}
	return c
}

// groups reads the configured groups claim: a list of names or one name; nil when absent.
func (p *Provider) groups(all map[string]any) []string {
	if p.cfg.GroupsClaim == "" {
		return nil
	}
	switch v := all[p.cfg.GroupsClaim].(type) {
	case []any:
		out := []string{}
		for _, g := range v {
			if s, ok := g.(string); ok && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		return out
	case string:
		return []string{v}
	}
	return nil
}

// refused is an unauthenticated error whose cause stays in the server log, not the page.
func refused(msg string, cause error) error {
	err := gatehouse.Errorf(gatehouse.KindUnauthenticated, "single sign-on failed: %s", msg)
	if cause != nil {
		return errors.Join(err, cause)
	}
	return err
}
