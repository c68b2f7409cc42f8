package httpapi

import (
	"net/http"

	"github.com/gatehousehq/gatehouse"
)

// Overrides is the body that sets an environment's values overrides.
type Overrides struct {
	Values string `json:"values"`
}

func (s *Server) deployRoutes() []route {
	sv := s.svc
	p := func(r *http.Request) string { return r.PathValue("project") }
	app := func(r *http.Request) string { return r.PathValue("app") }
	const base = "/api/v1/projects/{project}/apps/{app}"
	return []route{
		{pattern: "GET " + base + "/overrides", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			return sv.Apps.Overrides(r.Context(), p(r), app(r))
		})},
		{pattern: "PUT " + base + "/overrides/{env}", handler: withBody(s, 200, func(r *http.Request, in Overrides) (any, error) {
			return sv.Apps.SetOverrides(r.Context(), p(r), app(r), r.PathValue("env"), in.Values)
		})},
		{pattern: "GET " + base + "/deployments", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			q := r.URL.Query()
			f := gatehouse.DeploymentFilter{Environment: q.Get("environment"), Cursor: q.Get("cursor")}
			if err := numberParam(q, "limit", &f.Limit); err != nil {
				return nil, err
			}
			return page(sv.Deployments.Deployments(r.Context(), p(r), app(r), f))
		})},
		{pattern: "POST " + base + "/deployments", handler: withBody(s, 201, func(r *http.Request, in gatehouse.DeploymentCreate) (any, error) {
			return sv.Deployments.Deploy(r.Context(), p(r), app(r), in)
		})},
		{pattern: "GET " + base + "/deployments/preview", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			q := r.URL.Query()
			in := gatehouse.DeploymentCreate{Environment: q.Get("environment"), Digest: q.Get("digest")}
			return sv.Deployments.Preview(r.Context(), p(r), app(r), in)
		})},
		{pattern: "GET " + base + "/deployments/{id}", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			id, err := pathID(r, "id")
			if err != nil {
				return nil, err
			}
			return sv.Deployments.Deployment(r.Context(), p(r), app(r), id)
		})},
		{pattern: "POST " + base + "/deployments/{id}/rollback", handler: noBody(s, 201, func(r *http.Request) (any, error) {
			id, err := pathID(r, "id")
			if err != nil {
				return nil, err
			}
			return sv.Deployments.Rollback(r.Context(), p(r), app(r), id)
		})},
		{pattern: "GET " + base + "/deployments/{id}/diff/{other}", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			from, err := pathID(r, "id")
			if err != nil {
				return nil, err
			}
			to, err := pathID(r, "other")
			if err != nil {
				return nil, err
			}
			return sv.Deployments.DiffDeployments(r.Context(), p(r), app(r), from, to)
		})},
	}
}
