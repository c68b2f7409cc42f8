package httpapi

import (
	"net/url"
	"strings"
	"testing"
)

// TestRedactURL: approve-link tokens, Gatehouse secrets anywhere in the path or query, and the
// values of credential-like query keys never leave redactURL; everything else does, unchanged.
func TestRedactURL(t *testing.T) {
	const link = "gha_Q2xhc3NpZmllZC10b2tlbi10ZXh0LTAxMjM0NTY3ODk"
	for _, c := range []struct{ in, path, query string }{
		{"/api/v1/projects/shop/apps?limit=5", "/api/v1/projects/shop/apps", "limit=5"},
		{"/approve/" + link, "/approve/[redacted]", ""},
		{"/approve/ghc_draftlinktoken/extra?x=1", "/approve/[redacted]", "x=1"},
		{"/approve/not-prefixed-but-still-a-link", "/approve/[redacted]", ""},
		{"/approve/", "/approve/", ""},
		{"/api/v1/tokens/gth_abcdef/x", "/api/v1/tokens/[redacted]/x", ""},
		{"/ui/x/GHS_upper", "/ui/x/[redacted]", ""},
		{"/ui/sso/callback?code=abc123&state=xyz&iss=https%3A%2F%2Fid.example", "/ui/sso/callback", "code=[redacted]&iss=https%3A%2F%2Fid.example&state=[redacted]"},
		{"/ui/login?next=%2Fapprove%2F" + link, "/ui/login", "next=[redacted]"},
		{"/ui/audit?q=gth_secret&project=shop", "/ui/audit", "project=shop&q=[redacted]"},
		{"/x?gth_keyislikeasecret=1&Token=t", "/x", "Token=[redacted]&[redacted]"},
		{"/x?a=1;b=2", "/x", "[redacted]"},
		{"/x?password=hunter2&csrf_token=c&access_token=a", "/x", "access_token=[redacted]&csrf_token=[redacted]&password=[redacted]"},
	} {
		u, err := url.Parse("http://gatehouse.example" + c.in)
		if err != nil {
			t.Fatal(err)
		}
		path, query := redactURL(u)
		if path != c.path || query != c.query {
			t.Errorf("redactURL(%s) = %q, %q; want %q, %q", c.in, path, query, c.path, c.query)
		}
		for _, secret := range []string{link, "gth_", "ghs_", "GHS_", "ghc_", "abc123", "hunter2", "xyz"} {
			if strings.Contains(path+"?"+query, secret) {
				t.Errorf("redactURL(%s) keeps %q: %s?%s", c.in, secret, path, query)
			}
		}
	}
}
