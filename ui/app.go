// Package ui serves Gatehouse's web UI: server-rendered pages (Go templates, embedded, no
// build step) for the approval workflow, and the confirmation pages behind approve-by-e-mail
// links. Pages call the same domain services as the API, so every access decision is the
// services'; forms carry the session's CSRF token, which the API middleware checks.
package ui

import (
	"embed"
	"encoding/base64"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

var pages = template.Must(template.New("").Funcs(funcs).ParseFS(templateFiles, "templates/*.html"))

// Sessions starts and ends browser sessions; the API server implements it, so the sign-in
// form shares the API's login rate limiter.
type Sessions interface {
	SignIn(w http.ResponseWriter, r *http.Request, c gatehouse.Credentials) (*gatehouse.Session, error)
	SignInExternal(w http.ResponseWriter, r *http.Request, in gatehouse.ExternalLogin) (*gatehouse.Session, error)
	SignOut(w http.ResponseWriter, r *http.Request) error
}

// SessionOf returns the browser session that authenticated a request (nil for none).
type SessionOf func(r *http.Request) *gatehouse.Session

// App is the web UI.
type App struct {
	svc      gatehouse.Services
	sessions Sessions
	session  SessionOf
	secure   bool
	log      *slog.Logger
	sso      SingleSignOn // nil without single sign-on
}

// New builds the web UI over the services.
func New(svc gatehouse.Services, sessions Sessions, session SessionOf, secure bool, log *slog.Logger) *App {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &App{svc: svc, sessions: sessions, session: session, secure: secure, log: log}
}

// Route is one page route: a method and path pattern, and its handler.
type Route struct {
	Pattern string
	Handler http.Handler
}

// Routes lists the UI's routes. Pages that show a person's data redirect anonymous visitors
// to the sign-in page.
func (a *App) Routes() []Route {
	static, _ := fs.Sub(staticFiles, "static")
	out := []Route{
		{"GET /{$}", http.RedirectHandler("/ui/", http.StatusSeeOther)},
		{"GET /ui/static/", http.StripPrefix("/ui/static/", http.FileServerFS(static))},
		{"GET /ui/login", http.HandlerFunc(a.loginPage)},
		{"POST /ui/login", http.HandlerFunc(a.login)},
		{"POST /ui/logout", a.user(a.logout)},
		{"GET /ui/sso/start", http.HandlerFunc(a.ssoStart)},
		{"GET /ui/sso/callback", http.HandlerFunc(a.ssoCallback)},
	}
	for _, group := range [][]Route{a.homeRoutes(), a.approvalRoutes(), a.deployRoutes(), a.configRoutes(), a.draftRoutes(), a.historyRoutes(), a.metricsRoutes(), a.auditRoutes(), a.accessRoutes(), a.reviewRoutes()} {
		out = append(out, group...)
	}
	return out
}

// handler is a page handler: it renders or redirects, or returns an error to render.
type handler func(w http.ResponseWriter, r *http.Request) error

// user wraps a page that needs a signed-in person: anonymous visitors go to sign in first.
func (a *App) user(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if gatehouse.ActorFrom(r.Context()) == nil {
			next := r.URL.RequestURI()
			if r.Method != http.MethodGet {
				next = "/ui/"
			}
			http.Redirect(w, r, "/ui/login?next="+url.QueryEscape(next), http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil {
				a.Error(w, r, gatehouse.Invalidf("form", "cannot be read"))
				return
			}
		}
		if err := h(w, r); err != nil {
			a.Error(w, r, err)
		}
	})
}

// Error renders an error as a page: an expired or missing session sends the visitor to sign
// in; other errors say what went wrong with the status of their kind.
func (a *App) Error(w http.ResponseWriter, r *http.Request, err error) {
	pub := gatehouse.PublicError(err)
	if pub.Kind == gatehouse.KindUnauthenticated && strings.HasPrefix(r.URL.Path, "/ui/") {
		http.Redirect(w, r, "/ui/login?expired=1", http.StatusSeeOther)
		return
	}
	if pub.Kind == gatehouse.KindInternal {
		// The request's line in the log names its path, redacted (httpapi); the id joins them.
		a.log.Error("page failed", "request_id", gatehouse.RequestInfoFrom(r.Context()).RequestID, "err", err)
	}
	a.render(w, r, statusOf[pub.Kind], "error.html", "That did not work", errorPage{Message: pub.Error(), Kind: string(pub.Kind)})
}

type errorPage struct{ Message, Kind string }

// view is what every page template gets.
type view struct {
	Title string
	User  string
	CSRF  string
	Path  string
	Flash string
	Data  any
}

// render executes a page template inside the layout.
func (a *App) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	v := view{Title: title, Path: r.URL.Path, Flash: a.takeFlash(w, r), Data: data}
	if who := gatehouse.ActorFrom(r.Context()); who != nil {
		v.User = who.UserName
	}
	if s := a.session(r); s != nil {
		v.CSRF = s.CSRF
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, v); err != nil {
		a.log.Error("render page", "page", name, "err", err)
	}
}

// flashCookie carries the message a page shows once after a form. It travels in a cookie
// only this site sets, not in the address, so a link cannot make a page say anything.
const flashCookie = "gatehouse_flash"

// back redirects after a successful form to a page, with a message shown once.
func (a *App) back(w http.ResponseWriter, r *http.Request, to, flash string) error {
	if flash != "" {
		http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: base64.RawURLEncoding.EncodeToString([]byte(flash)), Path: "/ui/",
			MaxAge: 60, HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// takeFlash returns the message waiting for this page, if any, and clears it.
func (a *App) takeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "", Path: "/ui/", MaxAge: -1, HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
	msg, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(msg) > 500 {
		return ""
	}
	return string(msg)
}
