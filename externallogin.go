package gatehouse

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// ExternalIdentity is a person as a single sign-on (OpenID Connect) provider vouches for them:
// the provider's issuer and its stable subject identifier, and the claims Gatehouse uses.
type ExternalIdentity struct {
	Issuer        string
	Subject       string
	Email         string
	EmailVerified bool
	// Username is the provider's preferred user name; a new user takes it when it is a valid
	// Gatehouse user name and free.
	Username    string
	DisplayName string
	// Groups are the provider's group names for the person (nil when it sent none).
	Groups []string
}

// ExternalLogin is a sign-in vouched for by a single sign-on provider, with what the server's
// configuration allows it to do.
type ExternalLogin struct {
	Identity ExternalIdentity
	// CreateUsers lets a person the store does not know become a new user: a human with no
	// password and no role bindings until an administrator grants some.
	CreateUsers bool
	// SyncGroups makes the person's membership of Gatehouse's groups follow Identity.Groups
	// on every sign-in: added to the named groups that exist, removed from the others.
	SyncGroups bool
	// EmailDomains, when not empty, admits only verified e-mail addresses in these domains.
	EmailDomains []string
}

// Validate checks what the provider sent: an issuer and a subject are required, and free
// text is bounded, so nothing half-formed reaches the store.
func (in ExternalLogin) Validate() error {
	id := in.Identity
	if id.Issuer == "" || id.Subject == "" {
		return Errorf(KindUnauthenticated, "the identity provider sent no issuer or subject")
	}
	for _, f := range []struct{ name, v string }{{"iss", id.Issuer}, {"sub", id.Subject}, {"name", id.DisplayName}, {"preferred_username", id.Username}} {
		if err := validateText(f.name, f.v, 256); err != nil {
			return Errorf(KindUnauthenticated, "the identity provider's %s claim is not acceptable", f.name)
		}
	}
	if err := ValidateEmail("email", id.Email); err != nil {
		return Errorf(KindUnauthenticated, "the identity provider's email claim is not an e-mail address")
	}
	if len(in.EmailDomains) > 0 {
		_, domain, _ := strings.Cut(strings.ToLower(id.Email), "@")
		ok := false
		for _, d := range in.EmailDomains {
			ok = ok || (id.EmailVerified && domain == strings.ToLower(d))
		}
		if !ok {
			return Errorf(KindForbidden, "single sign-on is open to verified e-mail addresses of %s only", strings.Join(in.EmailDomains, ", "))
		}
	}
	return nil
}

var userNameStrip = regexp.MustCompile(`[^a-z0-9._@-]+`)

// UserNameCandidates are the names a new user from this identity may take, best first: the
// preferred user name, the e-mail address's local part, then numbered variants.
func (id ExternalIdentity) UserNameCandidates() []string {
	var bases []string
	for _, s := range []string{id.Username, strings.SplitN(id.Email, "@", 2)[0], "user"} {
		s = strings.Trim(userNameStrip.ReplaceAllString(strings.ToLower(s), "-"), "._@-")
		if len(s) > 60 {
			s = strings.Trim(s[:60], "._@-")
		}
		if ValidateUserName("name", s) == nil && !slices.Contains(bases, s) {
			bases = append(bases, s)
		}
	}
	out := append([]string{}, bases...)
	for i := 2; len(out) < 20; i++ {
		if n := bases[0] + "-" + strconv.Itoa(i); !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
