package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gatehousehq/gatehouse"
)

// statusOf is the one table from error kinds to HTTP status codes.
var statusOf = map[gatehouse.ErrorKind]int{
	gatehouse.KindInvalid:            http.StatusBadRequest,
	gatehouse.KindUnauthenticated:    http.StatusUnauthorized,
	gatehouse.KindForbidden:          http.StatusForbidden,
	gatehouse.KindNotFound:           http.StatusNotFound,
	gatehouse.KindConflict:           http.StatusConflict,
	gatehouse.KindPreconditionFailed: http.StatusPreconditionFailed,
	gatehouse.KindRateLimited:        http.StatusTooManyRequests,
	gatehouse.KindUnavailable:        http.StatusServiceUnavailable,
	gatehouse.KindInternal:           http.StatusInternalServerError,
}

// ErrorBody is the JSON shape of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong: the kind, the input field at fault, a message for people,
// and the request id to quote when asking an operator.
type ErrorDetail struct {
	Kind      gatehouse.ErrorKind `json:"kind"`
	Field     string              `json:"field,omitempty"`
	Message   string              `json:"message"`
	RequestID string              `json:"request_id"`
}

// writeError answers with the public form of err. Internal errors are logged here, once, with
// the request id; the response says only "internal error".
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	pub := gatehouse.PublicError(err)
	status := statusOf[pub.Kind]
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		pub = gatehouse.Invalidf("body", "is larger than %d bytes", tooLarge.Limit)
		status = http.StatusRequestEntityTooLarge
	}
	rid := gatehouse.RequestInfoFrom(r.Context()).RequestID
	if pub.Kind == gatehouse.KindInternal {
		path, _ := redactURL(r.URL)
		s.log.Error("request failed", "request_id", rid, "method", r.Method, "path", path, "err", err)
	}
	if pub.Kind == gatehouse.KindUnauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
	}
	writeJSON(w, status, ErrorBody{Error: ErrorDetail{Kind: pub.Kind, Field: pub.Field, Message: pub.Message, RequestID: rid}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Every value written is a domain type that marshals; this is a programming error.
		slog.Error("encode response", "err", err)
		status, b = http.StatusInternalServerError, []byte(`{"error":{"kind":"internal","message":"internal error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
