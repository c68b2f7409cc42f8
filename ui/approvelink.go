package ui

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gatehousehq/gatehouse"
)

// statusOf maps error kinds to statuses for pages, as the API does.
var statusOf = map[gatehouse.ErrorKind]int{
	gatehouse.KindInvalid: 400, gatehouse.KindUnauthenticated: 401, gatehouse.KindForbidden: 403, gatehouse.KindNotFound: 404,
	gatehouse.KindConflict: 409, gatehouse.KindPreconditionFailed: 412, gatehouse.KindRateLimited: 429, gatehouse.KindUnavailable: 503,
	gatehouse.KindInternal: 500,
}

type page struct {
	Title   string
	Class   string
	Message string
	Ballot  *gatehouse.LinkBallot
	CSRF    string
}

func render(w http.ResponseWriter, log *slog.Logger, status int, name string, p page) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, p); err != nil {
		log.Error("render page", "page", name, "err", err)
	}
}

func renderError(w http.ResponseWriter, log *slog.Logger, err error) {
	pub := gatehouse.PublicError(err)
	if pub.Kind == gatehouse.KindInternal {
		log.Error("page failed", "err", err)
	}
	render(w, log, statusOf[pub.Kind], "message.html", page{Title: "That did not work", Class: "error", Message: pub.Error()})
}

// csrfCookie holds the double-submit token of the approve form: the page's hidden field must
// equal it, which a page on another site cannot arrange.
const csrfCookie = "gatehouse_link_csrf"

// ApproveLink serves GET and POST /approve/{token} for every kind of ballot: the GET shows the
// approval request's review or the draft and changes nothing (mail scanners follow links);
// only a POST of the page's own form, carrying its CSRF token and the version it showed,
// records the vote of the person the link was sent to.
func ApproveLink(links gatehouse.Links, secure bool, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := gatehouse.NewSecret(r.PathValue("token"))
		switch r.Method {
		case http.MethodGet:
			b, err := links.LinkBallot(r.Context(), token)
			if err != nil {
				renderError(w, log, err)
				return
			}
			p := page{Title: "Approval request", CSRF: randomToken(), Ballot: b}
			name := "approve.html"
			if b.Draft != nil {
				p.Title, name = "Proposed change", "approve-draft.html"
			}
			http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: p.CSRF, Path: "/approve/", HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode})
			render(w, log, http.StatusOK, name, p)
		case http.MethodPost:
			approve, d, err := decision(r)
			if err != nil {
				renderError(w, log, err)
				return
			}
			p := page{Title: "Thank you", Class: "ok", Message: "Your approval is recorded."}
			if !approve {
				p.Message = "Your rejection is recorded."
			}
			if p.Ballot, err = links.RedeemLink(r.Context(), token, approve, d); err != nil {
				renderError(w, log, err)
				return
			}
			render(w, log, http.StatusOK, "message.html", p)
		default:
			w.Header().Set("Allow", "GET, POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}
	})
}

// decision reads the confirmation form: its CSRF token must equal the page's cookie.
func decision(r *http.Request) (bool, gatehouse.Decision, error) {
	if err := r.ParseForm(); err != nil {
		return false, gatehouse.Decision{}, gatehouse.Invalidf("form", "cannot be read")
	}
	c, err := r.Cookie(csrfCookie)
	field := r.PostForm.Get("csrf_token")
	if err != nil || field == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(field)) != 1 {
		return false, gatehouse.Decision{}, gatehouse.Forbiddenf("the form's CSRF token is missing or wrong: open the link again and use its buttons")
	}
	d := r.PostForm.Get("decision")
	if d != "approve" && d != "reject" {
		return false, gatehouse.Decision{}, gatehouse.Invalidf("decision", "expected approve or reject")
	}
	version, _ := strconv.ParseInt(r.PostForm.Get("version"), 10, 64)
	return d == "approve", gatehouse.Decision{Comment: r.PostForm.Get("comment"), Version: version}, nil
}

// randomToken is 256 random bits in 43 URL-safe characters (long enough for a PKCE verifier).
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
