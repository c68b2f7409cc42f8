package httpapi

import (
	"net/http"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// loginLimited refuses a login when its user-and-address or its address alone has failed too
// often in the current window.
func (s *Server) loginLimited(r *http.Request, user string) (keys []string, err error) {
	ip := gatehouse.RequestInfoFrom(r.Context()).SourceIP
	keys = []string{"user:" + user + "|" + ip, "ip:" + ip}
	// An address may try several names (a shared office address), but not without bound.
	limits := []int{s.cfg.LoginFailures, 4 * s.cfg.LoginFailures}
	for i, k := range keys {
		if blocked, wait := s.limiter.blocked(k, limits[i]); blocked {
			return nil, gatehouse.Errorf(gatehouse.KindRateLimited, "too many failed sign-ins: try again in %d seconds", int(wait.Seconds())+1)
		}
	}
	return keys, nil
}

// login runs a password check behind the limiter and counts the outcome.
func (s *Server) login(r *http.Request, c gatehouse.Credentials, check func() (any, error)) (any, error) {
	keys, err := s.loginLimited(r, c.Name)
	if err != nil {
		return nil, err
	}
	out, err := check()
	if gatehouse.KindOf(err) == gatehouse.KindUnauthenticated {
		for _, k := range keys {
			s.limiter.fail(k)
		}
	} else if err == nil {
		s.limiter.reset(keys[0])
	}
	return out, err
}

// SessionInfo is what a browser learns about its session: who, until when, and the CSRF token
// to send on changes.
type SessionInfo struct {
	User      string    `json:"user"`
	CSRFToken string    `json:"csrf_token"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (s *Server) createSession(w http.ResponseWriter, r *http.Request) {
	var c gatehouse.Credentials
	if err := decode(r, &c); err != nil {
		s.writeError(w, r, err)
		return
	}
	sess, err := s.SignIn(w, r, c)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, SessionInfo{User: sess.User, CSRFToken: sess.CSRF, ExpiresAt: sess.ExpiresAt})
}

// SignIn checks the credentials behind the login rate limiter and starts a browser session,
// setting its cookie on w. The web UI's sign-in form uses it too, so both share the limiter.
func (s *Server) SignIn(w http.ResponseWriter, r *http.Request, c gatehouse.Credentials) (*gatehouse.Session, error) {
	out, err := s.login(r, c, func() (any, error) {
		return s.svc.Identity.Login(r.Context(), c, s.cfg.SessionTTL)
	})
	if err != nil {
		return nil, err
	}
	return s.setSessionCookie(w, out.(*gatehouse.Session)), nil
}

// SignInExternal starts a browser session for a person a single sign-on provider vouched
// for, behind the same limiter as SignIn (keyed by the provider's subject).
func (s *Server) SignInExternal(w http.ResponseWriter, r *http.Request, in gatehouse.ExternalLogin) (*gatehouse.Session, error) {
	out, err := s.login(r, gatehouse.Credentials{Name: "sso:" + in.Identity.Subject}, func() (any, error) {
		return s.svc.Identity.LoginExternal(r.Context(), in, s.cfg.SessionTTL)
	})
	if err != nil {
		return nil, err
	}
	return s.setSessionCookie(w, out.(*gatehouse.Session)), nil
}

func (s *Server) setSessionCookie(w http.ResponseWriter, sess *gatehouse.Session) *gatehouse.Session {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: sess.Token.Reveal(), Path: "/", Expires: sess.ExpiresAt,
		HttpOnly: true, Secure: s.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
	return sess
}

// SignOut ends the request's browser session and clears its cookie. Errors: not found when
// the request was not authenticated by a session.
func (s *Server) SignOut(w http.ResponseWriter, r *http.Request) error {
	sess := sessionFrom(r.Context())
	if sess == nil {
		return gatehouse.Errorf(gatehouse.KindNotFound, "no browser session: revoke tokens with DELETE /api/v1/tokens/{id}")
	}
	if err := s.svc.Identity.Logout(r.Context(), sess.Token); err != nil {
		return err
	}
	s.clearSessionCookie(w)
	return nil
}

// SessionOf returns the browser session that authenticated the request, or nil.
func SessionOf(r *http.Request) *gatehouse.Session { return sessionFrom(r.Context()) }

func (s *Server) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: s.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
}

func (s *Server) currentSession(r *http.Request) (any, error) {
	sess := sessionFrom(r.Context())
	if sess == nil {
		return nil, gatehouse.Errorf(gatehouse.KindNotFound, "no browser session: this request was authenticated by token")
	}
	return SessionInfo{User: sess.User, CSRFToken: sess.CSRF, ExpiresAt: sess.ExpiresAt}, nil
}

func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request) {
	if err := s.SignOut(w, r); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// TokenLogin is the CLI's login: credentials in exchange for a personal token.
type TokenLogin struct {
	gatehouse.Credentials
	gatehouse.TokenCreate
}

func (s *Server) tokenLogin(r *http.Request, in TokenLogin) (any, error) {
	return s.login(r, in.Credentials, func() (any, error) {
		return s.svc.Identity.LoginToken(r.Context(), in.Credentials, in.TokenCreate)
	})
}

// Me describes the caller: the user, how it authenticated, its groups and grants.
type Me struct {
	User   *gatehouse.User      `json:"user"`
	Via    gatehouse.AuthMethod `json:"via"`
	Grants []MeGrant            `json:"grants"`
}

// MeGrant is one role on one scope the caller holds.
type MeGrant struct {
	Role  gatehouse.Role `json:"role"`
	Scope string         `json:"scope"`
}

func (s *Server) me(r *http.Request) (any, error) {
	a := gatehouse.ActorFrom(r.Context())
	u, err := s.svc.Users.User(r.Context(), a.UserName)
	if err != nil {
		return nil, err
	}
	m := Me{User: u, Via: a.Via, Grants: []MeGrant{}}
	for _, g := range a.Grants {
		m.Grants = append(m.Grants, MeGrant{Role: g.Role, Scope: g.Scope.String()})
	}
	return m, nil
}
