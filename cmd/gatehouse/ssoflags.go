package main

import (
	"strings"

	"github.com/spf13/pflag"

	"github.com/gatehousehq/gatehouse/sso"
	"github.com/gatehousehq/gatehouse/ui"
)

// ssoSettings configure sign-in through an OpenID Connect provider; without --sso-issuer
// people sign in with passwords only.
type ssoSettings struct {
	issuer, clientID, secretFile, redirectURL, name, groupsClaim string
	scopes, emailDomains                                         []string
	createUsers, syncGroups                                      bool
}

func bindSSOFlags(f *pflag.FlagSet, s *ssoSettings) {
	f.StringVar(&s.issuer, "sso-issuer", "", "OpenID Connect issuer URL for single sign-on (none when empty)")
	f.StringVar(&s.clientID, "sso-client-id", "", "client ID registered with the provider")
	f.StringVar(&s.secretFile, "sso-client-secret-file", "", "file holding the client secret (or set GATEHOUSE_SSO_CLIENT_SECRET)")
	f.StringVar(&s.redirectURL, "sso-redirect-url", "", "callback registered with the provider (default: EXTERNAL-URL/ui/sso/callback)")
	f.StringVar(&s.name, "sso-name", "single sign-on", "label of the sign-in button (\"Sign in with NAME\")")
	f.StringSliceVar(&s.scopes, "sso-scopes", []string{"email", "profile"}, "scopes asked for besides openid")
	f.StringVar(&s.groupsClaim, "sso-groups-claim", "groups", "claim listing the person's groups")
	f.BoolVar(&s.createUsers, "sso-create-users", true, "create a user (with no roles) at a person's first sign-in")
	f.BoolVar(&s.syncGroups, "sso-sync-groups", false, "make membership of Gatehouse groups follow the groups claim at every sign-in")
	f.StringSliceVar(&s.emailDomains, "sso-email-domain", nil, "admit only verified e-mail addresses of this domain (repeat)")
}

// provider builds the single sign-on provider, or nil when no issuer is set. external is the
// server's external URL, the base of the default callback.
func (s ssoSettings) provider(external string) (ui.SingleSignOn, error) {
	if s.issuer == "" {
		return nil, nil
	}
	secret, err := secretSetting("GATEHOUSE_SSO_CLIENT_SECRET", "sso-client-secret-file", s.secretFile)
	if err != nil {
		return nil, err
	}
	redirect := s.redirectURL
	if redirect == "" {
		redirect = strings.TrimSuffix(external, "/") + "/ui/sso/callback"
	}
	p, err := sso.New(sso.Config{Name: s.name, Issuer: s.issuer, ClientID: s.clientID, ClientSecret: secret, RedirectURL: redirect,
		Scopes: s.scopes, GroupsClaim: s.groupsClaim, CreateUsers: s.createUsers, SyncGroups: s.syncGroups, EmailDomains: s.emailDomains})
	if err != nil {
		return nil, asFlagError(err)
	}
	return p, nil
}
