package httpapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gatehousehq/gatehouse"
)

// withBody adapts a function that takes a decoded JSON body of type In.
func withBody[In any](s *Server, status int, fn func(r *http.Request, in In) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in In
		if err := decode(r, &in); err != nil {
			s.writeError(w, r, err)
			return
		}
		respond(s, w, r, status, fn, in)
	})
}

// optionalBody is withBody for a body that may be left out: an empty body gives the zero In,
// so a route that gains a body keeps answering the callers that send none.
func optionalBody[In any](s *Server, status int, fn func(r *http.Request, in In) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			s.writeError(w, r, decodeError(err))
			return
		}
		var in In
		if len(bytes.TrimSpace(b)) > 0 {
			r.Body = io.NopCloser(bytes.NewReader(b))
			if err := decode(r, &in); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		respond(s, w, r, status, fn, in)
	})
}

// noBody adapts a function that takes no body.
func noBody(s *Server, status int, fn func(r *http.Request) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		respond(s, w, r, status, func(r *http.Request, _ struct{}) (any, error) { return fn(r) }, struct{}{})
	})
}

func respond[In any](s *Server, w http.ResponseWriter, r *http.Request, status int, fn func(*http.Request, In) (any, error), in In) {
	out, err := fn(r, in)
	switch {
	case err != nil:
		s.writeError(w, r, err)
	case status == http.StatusNoContent:
		w.WriteHeader(status)
	default:
		if l, ok := out.(linker); ok {
			l.link(w.Header(), r.URL)
		}
		writeJSON(w, status, out)
	}
}

// List is the JSON shape of every list response.
type List[T any] struct {
	Items []T `json:"items"`
}

// items wraps a list result; an empty list is [] rather than null.
func items[T any](xs []T, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return listOf(xs), nil
}

func listOf[T any](xs []T) List[T] {
	if xs == nil {
		xs = []T{}
	}
	return List[T]{Items: xs}
}

// linker is a result that links to more (a page of a list: to the page after it).
type linker interface {
	link(h http.Header, u *url.URL)
}

// paged is a page of a list as answered: its items, as every list, and the next page in the
// Link header (RFC 8288, as GitHub's API does) when more may follow.
type paged[T any] struct {
	List[T]
	next string
}

// page wraps a page of a list result (see paged).
func page[T any](p gatehouse.Page[T], err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return paged[T]{List: listOf(p.Items), next: p.Next}, nil
}

// link names the next page: this request's own path and query, with the page's cursor.
func (p paged[T]) link(h http.Header, u *url.URL) {
	if p.next == "" {
		return
	}
	q := u.Query()
	q.Set("cursor", p.next)
	h.Set("Link", "<"+u.Path+"?"+q.Encode()+`>; rel="next"`)
}

// done adapts an error-only result to a handler result.
func done(err error) (any, error) { return nil, err }

// pathID reads a numeric path value.
func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, gatehouse.Invalidf(name, "%q is not an id: expected a positive number", r.PathValue(name))
	}
	return id, nil
}

type sessionKey struct{}

func withSession(ctx context.Context, s *gatehouse.Session) context.Context {
	return context.WithValue(ctx, sessionKey{}, s)
}

func sessionFrom(ctx context.Context) *gatehouse.Session {
	s, _ := ctx.Value(sessionKey{}).(*gatehouse.Session)
	return s
}

// numberParam reads a whole-number query parameter into dst, leaving dst as it is when the
// parameter is absent. Errors name the parameter.
func numberParam[T int | int64](q url.Values, name string, dst *T) error {
	v := q.Get(name)
	if v == "" {
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return gatehouse.Invalidf(name, "%q is not a number: expected a whole number, 0 or more", v)
	}
	*dst = T(n)
	return nil
}
