package httpapi

import (
	"net/http"

	"github.com/gatehousehq/gatehouse"
)

// configRef reads the resource a config route names: the app's base values, or an
// environment's resource of a kind.
func configRef(r *http.Request) gatehouse.ConfigRef {
	ref := gatehouse.ConfigRef{Project: r.PathValue("project"), App: r.PathValue("app"), Environment: r.PathValue("env"),
		Kind: gatehouse.ConfigKind(r.PathValue("kind"))}
	if ref.Kind == "" {
		ref.Kind = gatehouse.ConfigValues
	}
	return ref
}

func (s *Server) configRoutes() []route {
	sv := s.svc
	get := noBody(s, 200, func(r *http.Request) (any, error) { return sv.Config.Config(r.Context(), configRef(r)) })
	set := withBody(s, 200, func(r *http.Request, in gatehouse.ConfigWrite) (any, error) {
		return sv.Config.SetConfig(r.Context(), configRef(r), in)
	})
	draft := withBody(s, 201, func(r *http.Request, in gatehouse.ConfigWrite) (any, error) {
		ref := configRef(r)
		if err := ref.Validate(); err != nil {
			return nil, err
		}
		return sv.Drafts.CreateDraft(r.Context(), gatehouse.DraftCreate{DraftRef: ref.Draft(), ConfigWrite: in})
	})
	onDraft := func(fn func(r *http.Request, id int64) (any, error)) func(r *http.Request) (any, error) {
		return func(r *http.Request) (any, error) {
			id, err := pathID(r, "id")
			if err != nil {
				return nil, err
			}
			return fn(r, id)
		}
	}
	vote := func(fn func(r *http.Request, id int64, d gatehouse.Decision) (*gatehouse.Draft, error)) http.Handler {
		return withBody(s, 200, func(r *http.Request, d gatehouse.Decision) (any, error) {
			return onDraft(func(r *http.Request, id int64) (any, error) { return fn(r, id, d) })(r)
		})
	}
	const app = "/api/v1/projects/{project}/apps/{app}"
	return []route{
		{pattern: "GET " + app + "/config/values", handler: get},
		{pattern: "PUT " + app + "/config/values", handler: set},
		{pattern: "POST " + app + "/config/values/drafts", handler: draft},
		{pattern: "GET " + app + "/environments/{env}/config/{kind}", handler: get},
		{pattern: "PUT " + app + "/environments/{env}/config/{kind}", handler: set},
		{pattern: "POST " + app + "/environments/{env}/config/{kind}/drafts", handler: draft},
		{pattern: "GET " + app + "/config-compare", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			q := r.URL.Query()
			return sv.Config.CompareConfig(r.Context(), r.PathValue("project"), r.PathValue("app"), q.Get("from"), q.Get("to"))
		})},
		{pattern: "GET /api/v1/drafts", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			q := r.URL.Query()
			f := gatehouse.DraftFilter{Project: q.Get("project"), App: q.Get("app"), Environment: q.Get("environment"),
				Kind: gatehouse.DraftKind(q.Get("kind")), State: gatehouse.DraftState(q.Get("state")), ForMe: q.Get("mine") == "true", Cursor: q.Get("cursor")}
			if err := numberParam(q, "limit", &f.Limit); err != nil {
				return nil, err
			}
			return page(sv.Drafts.Drafts(r.Context(), f))
		})},
		{pattern: "POST /api/v1/drafts", handler: withBody(s, 201, func(r *http.Request, in gatehouse.DraftCreate) (any, error) {
			return sv.Drafts.CreateDraft(r.Context(), in)
		})},
		{pattern: "GET /api/v1/live", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			q := r.URL.Query()
			return sv.Drafts.Live(r.Context(), gatehouse.DraftRef{Kind: gatehouse.DraftKind(q.Get("kind")), Project: q.Get("project"),
				App: q.Get("app"), Environment: q.Get("environment"), Policy: q.Get("policy"), Window: q.Get("window"), User: q.Get("user"), Group: q.Get("group")})
		})},
		{pattern: "GET /api/v1/drafts/{id}", handler: noBody(s, 200, onDraft(func(r *http.Request, id int64) (any, error) {
			return sv.Drafts.Draft(r.Context(), id)
		}))},
		{pattern: "POST /api/v1/drafts/{id}/versions", handler: withBody(s, 200, func(r *http.Request, in gatehouse.ConfigWrite) (any, error) {
			return onDraft(func(r *http.Request, id int64) (any, error) { return sv.Drafts.EditDraft(r.Context(), id, in) })(r)
		})},
		{pattern: "POST /api/v1/drafts/{id}/comments", handler: withBody(s, 200, func(r *http.Request, in gatehouse.DraftNote) (any, error) {
			return onDraft(func(r *http.Request, id int64) (any, error) { return sv.Drafts.CommentDraft(r.Context(), id, in.Text) })(r)
		})},
		{pattern: "POST /api/v1/drafts/{id}/propose", handler: withBody(s, 200, func(r *http.Request, in gatehouse.DraftPropose) (any, error) {
			return onDraft(func(r *http.Request, id int64) (any, error) { return sv.Drafts.ProposeDraft(r.Context(), id, in) })(r)
		})},
		{pattern: "POST /api/v1/drafts/{id}/approve", handler: vote(func(r *http.Request, id int64, d gatehouse.Decision) (*gatehouse.Draft, error) {
			return sv.Drafts.ApproveDraft(r.Context(), id, d)
		})},
		{pattern: "POST /api/v1/drafts/{id}/reject", handler: vote(func(r *http.Request, id int64, d gatehouse.Decision) (*gatehouse.Draft, error) {
			return sv.Drafts.RejectDraft(r.Context(), id, d)
		})},
		{pattern: "POST /api/v1/drafts/{id}/publish", handler: noBody(s, 200, onDraft(func(r *http.Request, id int64) (any, error) {
			return sv.Drafts.PublishDraft(r.Context(), id)
		}))},
		{pattern: "POST /api/v1/drafts/{id}/discard", handler: withBody(s, 200, func(r *http.Request, in gatehouse.DraftNote) (any, error) {
			return onDraft(func(r *http.Request, id int64) (any, error) {
				return sv.Drafts.DiscardDraft(r.Context(), id, in.Reason)
			})(r)
		})},
	}
}
