package ui

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

// SingleSignOn is an OpenID Connect provider people may sign in with (package sso).
type SingleSignOn interface {
	// Name labels the sign-in button.
	Name() string
	// AuthURL is the provider's sign-in address for one attempt.
	AuthURL(ctx context.Context, state, nonce, verifier string) (string, error)
	// Finish redeems the callback's code and returns who signed in.
	Finish(ctx context.Context, code, verifier, nonce string) (gatehouse.ExternalLogin, error)
}

// WithSSO offers sign-in through p beside the password form.
func (a *App) WithSSO(p SingleSignOn) *App {
	a.sso = p
	return a
}

// ssoCookie holds one sign-in attempt's state, nonce, PKCE verifier and destination while the
// browser is at the provider. It is HttpOnly and scoped to the callback; SameSite=Lax lets
// the provider's redirect back carry it.
const ssoCookie = "gatehouse_sso"

func (a *App) ssoStart(w http.ResponseWriter, r *http.Request) {
	if a.sso == nil {
		a.Error(w, r, gatehouse.NotFoundf("single sign-on is not configured on this server: sign in with a password"))
		return
	}
	state, nonce, verifier := randomToken(), randomToken(), randomToken()
	next := safeNext(r.URL.Query().Get("next"))
	to, err := a.sso.AuthURL(r.Context(), state, nonce, verifier)
	if err != nil {
		a.ssoFailed(w, r, next, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: strings.Join([]string{state, nonce, verifier,
		base64.RawURLEncoding.EncodeToString([]byte(next))}, "."), Path: "/ui/sso/", MaxAge: 600, HttpOnly: true,
		Secure: a.secure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (a *App) ssoCallback(w http.ResponseWriter, r *http.Request) {
	if a.sso == nil {
		a.Error(w, r, gatehouse.NotFoundf("single sign-on is not configured on this server: sign in with a password"))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Path: "/ui/sso/", MaxAge: -1, HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
	q := r.URL.Query()
	var parts []string
	if c, err := r.Cookie(ssoCookie); err == nil {
		parts = strings.Split(c.Value, ".")
	}
	if len(parts) != 4 || subtle.ConstantTimeCompare([]byte(parts[0]), []byte(q.Get("state"))) != 1 {
		a.ssoFailed(w, r, "/ui/", gatehouse.Errorf(gatehouse.KindUnauthenticated,
			"the single sign-on attempt expired or was started in another browser: please start again"))
		return
	}
	nextB, _ := base64.RawURLEncoding.DecodeString(parts[3])
	next := safeNext(string(nextB))
	if e := q.Get("error"); e != "" {
		a.ssoFailed(w, r, next, gatehouse.Errorf(gatehouse.KindUnauthenticated, "the identity provider did not sign you in (%s)", clip(e, 64)))
		return
	}
	login, err := a.sso.Finish(r.Context(), q.Get("code"), parts[2], parts[1])
	if err == nil {
		_, err = a.sessions.SignInExternal(w, r, login)
	}
	if err != nil {
		a.ssoFailed(w, r, next, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// ssoFailed shows the sign-in page with what went wrong; the cause stays in the log.
func (a *App) ssoFailed(w http.ResponseWriter, r *http.Request, next string, err error) {
	pub := gatehouse.PublicError(err)
	a.log.Warn("single sign-on failed", "err", err)
	a.showLogin(w, r, statusOf[pub.Kind], loginPage{Next: next, Error: pub.Error()})
}

// clip bounds text a provider sends before it is shown.
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
