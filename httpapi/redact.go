package httpapi

import (
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

// redacted stands in log lines for a value that may be secret.
const redacted = "[redacted]"

// approvePath starts the address of an approve link; its token is the rest of the path.
const approvePath = "/approve/"

// secretQueryKeys are query parameters whose values are secret whatever they look like: the
// single sign-on callback's code and state, and anything named like a credential.
var secretQueryKeys = []string{"code", "state", "token", "access_token", "id_token", "refresh_token", "password", "secret",
	"client_secret", "csrf_token", "session"}

// redactURL returns a request's path and query as a log line may show them. Everything after
// "/approve/" (an approve link's token), every path segment, query key or query value that
// holds a Gatehouse secret prefix (gatehouse.SecretPrefixes, in any case) or an approve-link
// path, and the value of every secretQueryKeys parameter become "[redacted]"; a query that
// cannot be parsed is redacted whole. It is the one place where a request's address becomes
// log text: every log call that names the address goes through it.
func redactURL(u *url.URL) (path, query string) {
	return redactPath(u.Path), redactQuery(u.RawQuery)
}

func redactPath(p string) string {
	if i := strings.Index(p, approvePath); i >= 0 && len(p) > i+len(approvePath) {
		p = p[:i+len(approvePath)] + redacted
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if holdsSecret(s) {
			segs[i] = redacted
		}
	}
	return strings.Join(segs, "/")
}

func redactQuery(raw string) string {
	if raw == "" {
		return ""
	}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return redacted
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(vals)) {
		for _, v := range vals[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			switch {
			case holdsSecret(k):
				b.WriteString(redacted)
			case holdsSecret(v) || slices.Contains(secretQueryKeys, strings.ToLower(k)):
				b.WriteString(url.QueryEscape(k) + "=" + redacted)
			default:
				b.WriteString(url.QueryEscape(k) + "=" + url.QueryEscape(v))
			}
		}
	}
	return b.String()
}

// holdsSecret reports whether text holds a Gatehouse secret or an approve link's path. It looks
// anywhere in the text, not only at its start: a secret inside a longer value is still one.
func holdsSecret(text string) bool {
	t := strings.ToLower(text)
	if strings.Contains(t, approvePath) {
		return true
	}
	for _, p := range gatehouse.SecretPrefixes {
		if strings.Contains(t, p) {
			return true
		}
	}
	return false
}
