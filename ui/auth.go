package ui

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

// loginCSRF is the double-submit cookie of the sign-in form, which has no session yet: the
// form's field must equal it, which a page on another site cannot arrange.
const loginCSRF = "gatehouse_login_csrf"

type loginPage struct {
	Next, Name, Error, Token string
	Expired                  bool
	SSO                      string // the single sign-on button's label; "" without one
}

func (a *App) loginPage(w http.ResponseWriter, r *http.Request) {
	if gatehouse.ActorFrom(r.Context()) != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	a.showLogin(w, r, http.StatusOK, loginPage{Next: r.URL.Query().Get("next"), Expired: r.URL.Query().Get("expired") != ""})
}

func (a *App) showLogin(w http.ResponseWriter, r *http.Request, status int, p loginPage) {
	p.Token = randomToken()
	if a.sso != nil {
		p.SSO = a.sso.Name()
	}
	http.SetCookie(w, &http.Cookie{Name: loginCSRF, Value: p.Token, Path: "/ui/login", HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteStrictMode})
	a.render(w, r, status, "login.html", "Sign in", p)
}

func (a *App) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		a.Error(w, r, gatehouse.Invalidf("form", "cannot be read"))
		return
	}
	p := loginPage{Next: r.PostForm.Get("next"), Name: strings.TrimSpace(r.PostForm.Get("username"))}
	c, err := r.Cookie(loginCSRF)
	field := r.PostForm.Get("login_token")
	if err != nil || field == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(field)) != 1 {
		p.Error = "The sign-in form expired. Please sign in again."
		a.showLogin(w, r, http.StatusForbidden, p)
		return
	}
	_, err = a.sessions.SignIn(w, r, gatehouse.Credentials{Name: p.Name, Password: gatehouse.NewSecret(r.PostForm.Get("password"))})
	if err != nil {
		pub := gatehouse.PublicError(err)
		p.Error = pub.Error()
		a.showLogin(w, r, statusOf[pub.Kind], p)
		return
	}
	http.Redirect(w, r, safeNext(p.Next), http.StatusSeeOther)
}

func (a *App) logout(w http.ResponseWriter, r *http.Request) error {
	if err := a.sessions.SignOut(w, r); err != nil {
		return err
	}
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
	return nil
}

// safeNext keeps a post-sign-in destination on this site's pages.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/ui/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/ui/"
	}
	return next
}
