package gatehouse

import (
	"context"
	"fmt"
	"strings"
)

// UserKind tells people from machines. Only humans log in with a password or approve.
type UserKind string

// The user kinds.
const (
	HumanUser      UserKind = "human"
	ServiceAccount UserKind = "service" // a service account for CI; authenticates with tokens only
	SystemUser     UserKind = "system"  // Gatehouse itself (bootstrap, scheduled work)
)

// AuthMethod records how a request proved who it is.
type AuthMethod string

// The authentication methods.
const (
	AuthSession AuthMethod = "session" // browser session cookie
	AuthToken   AuthMethod = "token"   // personal or service API token
	AuthLink    AuthMethod = "link"    // a single-use approve link sent by e-mail
	AuthSystem  AuthMethod = "system"  // internal work, no request
)

// Actor is who performs a request: the authenticated user, how they authenticated, and their
// grants (own role bindings plus those of their groups) resolved at authentication time.
type Actor struct {
	UserID   int64
	UserName string
	Kind     UserKind
	Via      AuthMethod
	TokenID  int64 // set when Via is AuthToken
	// Person is who is accountable for what the actor does, for every separation-of-duties
	// rule: a person themselves, or, for a service account's token, the person who made the
	// token ("" when nobody is known: the system, or a token from before makers were kept).
	Person string
	// Interactive means a person proved themselves just now: a browser session, a token made by
	// signing in with a password (the CLI's login) or an approve link from their mailbox.
	// Only interactive people approve; API tokens made for scripts never do.
	Interactive bool
	Groups      []string
	Grants      []Grant
}

// SystemActor is Gatehouse acting on its own behalf, with every right but approving.
func SystemActor() *Actor {
	return &Actor{UserName: "system", Kind: SystemUser, Via: AuthSystem, Grants: []Grant{{Role: RoleSuperAdmin, Scope: GlobalScope}}}
}

// Who names the actor with the person it counts as, when that is someone else: "ci (alice)".
func (a *Actor) Who() string {
	if a.Person == "" || a.Person == a.UserName {
		return a.UserName
	}
	return a.UserName + " (" + a.Person + ")"
}

// Can reports whether the actor may perform the action on the target.
func (a *Actor) Can(action Action, t Target) bool {
	return a != nil && Can(a.Grants, action, t)
}

// Require returns nil when the actor may perform the action on the target, and otherwise a
// forbidden error that says which roles would allow it (or unauthenticated when there is no
// actor at all).
func (a *Actor) Require(action Action, t Target) error {
	if a == nil {
		return Errorf(KindUnauthenticated, "authentication required")
	}
	if a.Can(action, t) {
		return nil
	}
	var roles []string
	for _, r := range RolesAllowing(action) {
		roles = append(roles, string(r))
	}
	return Forbiddenf("%s may not %s on %s: needs role %s on a scope that covers it",
		a.UserName, action, t, strings.Join(roles, " or "))
}

type ctxKey int

const (
	actorKey ctxKey = iota
	requestKey
)

// WithActor returns a context carrying the actor.
func WithActor(ctx context.Context, a *Actor) context.Context {
	return context.WithValue(ctx, actorKey, a)
}

// ActorFrom returns the context's actor, or nil when the request is not authenticated.
func ActorFrom(ctx context.Context) *Actor {
	a, _ := ctx.Value(actorKey).(*Actor)
	return a
}

// RequestInfo describes the request that caused a change; it is copied into audit events.
type RequestInfo struct {
	RequestID string
	SourceIP  string
}

// WithRequestInfo returns a context carrying the request's id and source address.
func WithRequestInfo(ctx context.Context, r RequestInfo) context.Context {
	return context.WithValue(ctx, requestKey, r)
}

// RequestInfoFrom returns the context's request info (zero when there is none).
func RequestInfoFrom(ctx context.Context) RequestInfo {
	r, _ := ctx.Value(requestKey).(RequestInfo)
	return r
}

// String names the actor for logs and messages.
func (a *Actor) String() string {
	if a == nil {
		return "anonymous"
	}
	return fmt.Sprintf("%s (%s via %s)", a.UserName, a.Kind, a.Via)
}

// CastsVotes reports whether the actor's votes can count anywhere: a person who signed in.
// API tokens and service accounts never approve.
func (a *Actor) CastsVotes() bool { return a != nil && a.Kind == HumanUser && a.Interactive }

// CanSee reports whether the actor may see the target: whether any of its grants that allow
// viewing overlaps it (see Scope.Overlaps). Reads check CanSee; changes check Can.
func (a *Actor) CanSee(t Target) bool {
	if a == nil {
		return false
	}
	for _, g := range a.Grants {
		if g.Role.Allows(ActionView) && g.Scope.Overlaps(t) {
			return true
		}
	}
	return false
}
