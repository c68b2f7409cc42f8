package httpapi

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// SessionCookie is the name of the browser session cookie.
const SessionCookie = "gatehouse_session"

// CSRFHeader carries the session's CSRF token on cookie-authenticated changes.
const CSRFHeader = "X-CSRF-Token"

// CSRFField carries the session's CSRF token in the web UI's forms.
const CSRFField = "csrf_token"

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// middleware gives every request an id, its source address, security headers, a body limit,
// panic recovery, the caller's identity (when it presents one) and a log line, whose path and
// query pass through redactURL so no token or approve link reaches the log.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rid := newRequestID()
		ctx := gatehouse.WithRequestInfo(r.Context(), gatehouse.RequestInfo{RequestID: rid, SourceIP: s.sourceIP(r)})
		r = r.WithContext(ctx)
		h := w.Header()
		h.Set("X-Request-ID", rid)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		_, pattern := s.mux.Handler(r)
		if !s.known[pattern] {
			pattern = "" // a redirect's target path, say: not a route
		}
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("panic", "request_id", rid, "panic", p)
				s.writeError(rec, r, gatehouse.Errorf(gatehouse.KindInternal, "panic"))
			}
			actor := "-"
			if a := gatehouse.ActorFrom(r.Context()); a != nil {
				actor = a.UserName
			}
			path, query := redactURL(r.URL)
			took := time.Since(start)
			s.log.Info("request", "request_id", rid, "method", r.Method, "path", path, "query", query, "status", rec.status,
				"duration_ms", took.Milliseconds(), "actor", actor)
			if s.observe != nil {
				s.observe.ObserveRequest(pattern, r.Method, rec.status, took)
			}
		}()
		r.Body = http.MaxBytesReader(rec, r.Body, s.cfg.MaxBodyBytes)
		if s.ownAuth[pattern] {
			next.ServeHTTP(rec, r) // the request carries its own credential
			return
		}
		r, err := s.authenticate(rec, r)
		if err != nil && s.pages.render != nil && strings.HasPrefix(r.URL.Path, s.pages.prefix) {
			s.pages.render(rec, r, err)
			return
		} else if err != nil {
			s.writeError(rec, r, err)
			return
		}
		next.ServeHTTP(rec, r)
	})
}

// authenticate resolves a bearer token or session cookie to an actor. A request that presents
// bad credentials is refused; one that presents none goes on anonymous (public routes serve
// it, the rest refuse). Cookie-authenticated changes must carry the session's CSRF token.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*http.Request, error) {
	ctx := r.Context()
	if authz := r.Header.Get("Authorization"); authz != "" {
		tok, ok := strings.CutPrefix(authz, "Bearer ")
		if !ok {
			return r, gatehouse.Errorf(gatehouse.KindUnauthenticated, "Authorization: expected \"Bearer <token>\"")
		}
		a, err := s.svc.Identity.AuthenticateToken(ctx, gatehouse.NewSecret(strings.TrimSpace(tok)))
		if err != nil {
			return r, err
		}
		return r.WithContext(gatehouse.WithActor(ctx, a)), nil
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return r, nil
	}
	a, sess, err := s.svc.Identity.AuthenticateSession(ctx, gatehouse.NewSecret(c.Value))
	if err != nil {
		s.clearSessionCookie(w)
		return r, err
	}
	if !safeMethod(r.Method) {
		got := r.Header.Get(CSRFHeader)
		if got == "" && isForm(r) {
			// A page's form carries the token as a field; its body is read here, once.
			got = r.PostFormValue(CSRFField)
		}
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRF)) != 1 {
			return r, gatehouse.Forbiddenf("%s: missing or wrong CSRF token: send the session's csrf_token in this header", CSRFHeader)
		}
	}
	return r.WithContext(withSession(gatehouse.WithActor(ctx, a), sess)), nil
}

// isForm reports whether the request is an HTML form submission.
func isForm(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	return strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data")
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// requireActor refuses anonymous requests.
func (s *Server) requireActor(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if gatehouse.ActorFrom(r.Context()) == nil {
			s.writeError(w, r, gatehouse.Errorf(gatehouse.KindUnauthenticated, "authentication required: sign in, or send \"Authorization: Bearer <token>\""))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// sourceIP is the peer's address, or, when the peer is a trusted proxy, the nearest address in
// X-Forwarded-For that is not a trusted proxy.
func (s *Server) sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !s.trusted(ip) {
		return host
	}
	hops := strings.Split(r.Header.Get("X-Forwarded-For"), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !s.trusted(hop) {
			return hop.String()
		}
	}
	return host
}

func (s *Server) trusted(ip netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}
