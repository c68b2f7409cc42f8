package telemetry

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

// RequireToken serves h only to requests that carry "Authorization: Bearer TOKEN"; every
// other request (no header, another scheme, a wrong token, any cookie) gets 401 with an empty
// body. The tokens are compared by their SHA-256 sums in constant time, so the time taken says
// nothing of the token, not even its length. An empty token admits no one.
func RequireToken(token gatehouse.Secret, h http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token.Reveal()))
	open := token.Reveal() != ""
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
		if !open || !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse metrics"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
