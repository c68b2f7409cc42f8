package gatehouse

import (
	"context"
	"time"
)

// Token is an API token of a user or service account. The token text is shown once, at
// creation; the server keeps only its hash.
type Token struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	User   string `json:"user"`
	Prefix string `json:"prefix"`
	// MadeBy is the person who made the token: whatever is done through it counts as theirs
	// for every separation-of-duties rule ("" for a service account's token of unknown origin).
	MadeBy     string     `json:"made_by,omitempty"`
	ExpiresAt  time.Time  `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	// RevokedReason says why a revoked token was revoked: by whom, or that its owner's password
	// changed.
	RevokedReason string `json:"revoked_reason,omitempty"`
	// Interactive tokens were made by signing in with a password (`gatehouse login`): only they
	// (of all tokens) can approve, and a change of the password revokes them.
	Interactive bool `json:"interactive"`
}

// Prefixes of the token and session texts: what a text is shows in its first characters, so a
// leaked one is recognisable (and secret scanners can find it).
const (
	TokenPrefix   = "gth_"
	SessionPrefix = "ghs_"
)

// SecretPrefixes are the prefixes of every secret text Gatehouse hands out: API tokens,
// sessions and approve links. Whatever carries one of them must not be logged.
var SecretPrefixes = []string{TokenPrefix, SessionPrefix, ApprovalLinkPrefix, DraftLinkPrefix}

// NewToken is a freshly created token with its secret text.
type NewToken struct {
	Token
	Secret string `json:"token"`
}

// MaxTokenLifetime bounds how long any token lives, so a leaked one dies by itself.
const MaxTokenLifetime = 366 * 24 * time.Hour

// DefaultTokenLifetime is the lifetime of a token created without one.
const DefaultTokenLifetime = 90 * 24 * time.Hour

// TokenCreate is the input that creates a token. ExpiresIn is a Go duration ("720h"); empty
// means DefaultTokenLifetime.
type TokenCreate struct {
	Name      string `json:"name"`
	ExpiresIn string `json:"expires_in"`
}

// Validate checks every field and returns the lifetime.
func (in TokenCreate) Validate() (time.Duration, error) {
	if in.Name == "" {
		return 0, Invalidf("name", "is required: expected a label such as \"ci\" or \"laptop\"")
	}
	if err := validateText("name", in.Name, 128); err != nil {
		return 0, err
	}
	if in.ExpiresIn == "" {
		return DefaultTokenLifetime, nil
	}
	d, err := time.ParseDuration(in.ExpiresIn)
	if err != nil || d < time.Minute || d > MaxTokenLifetime {
		return 0, Invalidf("expires_in", "%q is not a valid lifetime: expected a duration from 1m to 8784h, e.g. \"720h\"", in.ExpiresIn)
	}
	return d, nil
}

// Credentials are a user name and password, as given at login.
type Credentials struct {
	Name     string `json:"username"`
	Password Secret `json:"password"`
}

// Session is a browser session. Its token lives in a cookie; CSRF is the token every
// state-changing browser request must echo.
type Session struct {
	Token     Secret    `json:"-"`
	CSRF      string    `json:"csrf_token"`
	User      string    `json:"user"`
	ExpiresAt time.Time `json:"expires_at"`
}

// IdentityService proves who a request comes from and manages tokens.
type IdentityService interface {
	// Login checks a human user's password and opens a session. Errors: unauthenticated, with
	// the same message for an unknown user, a wrong password, a disabled user or a service
	// account, so names cannot be probed.
	Login(ctx context.Context, c Credentials, ttl time.Duration) (*Session, error)
	// LoginExternal opens a session for a person a single sign-on provider vouched for: the
	// user linked to the identity's issuer and subject; at a first sign-in, the one human user
	// whose e-mail is the identity's verified address (linked from then on); else, when
	// allowed, a new user. Errors: unauthenticated when no user matches, or the user is
	// disabled or a service account; forbidden when the e-mail domain is not admitted.
	LoginExternal(ctx context.Context, in ExternalLogin, ttl time.Duration) (*Session, error)
	// LoginToken checks a password like Login and returns a new personal token instead (the CLI's
	// login). Errors: as Login; invalid token input.
	LoginToken(ctx context.Context, c Credentials, in TokenCreate) (*NewToken, error)
	// Logout ends a session; ending an unknown session is not an error.
	Logout(ctx context.Context, token Secret) error
	// AuthenticateSession resolves a session token to its actor and session. Errors:
	// unauthenticated when unknown, expired or the user is disabled.
	AuthenticateSession(ctx context.Context, token Secret) (*Actor, *Session, error)
	// AuthenticateToken resolves an API token to its actor. Errors: unauthenticated when
	// unknown, expired, revoked or the user is disabled.
	AuthenticateToken(ctx context.Context, token Secret) (*Actor, error)
	// CreateToken creates a token for the caller, or, with user set, for a service account
	// (administer on the system). Errors: invalid input; forbidden; not found.
	CreateToken(ctx context.Context, user string, in TokenCreate) (*NewToken, error)
	// Tokens lists the caller's tokens, or a user's (administer).
	Tokens(ctx context.Context, user string) ([]*Token, error)
	// RevokeToken revokes a token of the caller (or any, with administer). Errors: not found.
	RevokeToken(ctx context.Context, id int64) error
}
