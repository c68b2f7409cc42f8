package httpapi

import (
	"net/http"

	"github.com/gatehousehq/gatehouse"
)

// windowRoutes serve deployment windows, the window state of a target and the deployments
// waiting for windows to open.
func (s *Server) windowRoutes() []route {
	sv := s.svc
	return []route{
		{pattern: "GET /api/v1/windows", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			return items(sv.Windows.Windows(r.Context(), r.URL.Query().Get("project")))
		})},
		{pattern: "POST /api/v1/windows", handler: withBody(s, 201, func(r *http.Request, in gatehouse.WindowSpec) (any, error) {
			return sv.Windows.CreateWindow(r.Context(), in)
		})},
		{pattern: "GET /api/v1/windows/{name}", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			return sv.Windows.Window(r.Context(), r.PathValue("name"))
		})},
		{pattern: "PUT /api/v1/windows/{name}", handler: withBody(s, 200, func(r *http.Request, in gatehouse.WindowSpec) (any, error) {
			return sv.Windows.UpdateWindow(r.Context(), r.PathValue("name"), in)
		})},
		{pattern: "DELETE /api/v1/windows/{name}", handler: noBody(s, 204, func(r *http.Request) (any, error) {
			return done(sv.Windows.DeleteWindow(r.Context(), r.PathValue("name")))
		})},
		// The verdict of the windows on an environment (of an app, with app=) now.
		{pattern: "GET /api/v1/projects/{project}/environments/{env}/window", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			return sv.Windows.WindowState(r.Context(), gatehouse.Target{Project: r.PathValue("project"), App: r.URL.Query().Get("app"), Env: r.PathValue("env")})
		})},
		{pattern: "GET /api/v1/projects/{project}/apps/{app}/waiting", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			return items(sv.Windows.Waiting(r.Context(), r.PathValue("project"), r.PathValue("app"), gatehouse.WaitState(r.URL.Query().Get("state"))))
		})},
	}
}

// reviewRoutes serve the reviews of break-glass deployments.
func (s *Server) reviewRoutes() []route {
	sv := s.svc
	return []route{
		{pattern: "GET /api/v1/reviews", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			q := r.URL.Query()
			f := gatehouse.ReviewFilter{Project: q.Get("project"), State: gatehouse.BallotState(q.Get("state")), Overdue: q.Get("overdue") == "true"}
			if err := numberParam(q, "limit", &f.Limit); err != nil {
				return nil, err
			}
			return items(sv.Reviews.Reviews(r.Context(), f))
		})},
		{pattern: "GET /api/v1/reviews/{id}", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			n, err := pathID(r, "id")
			if err != nil {
				return nil, err
			}
			return sv.Reviews.Review(r.Context(), n)
		})},
		{pattern: "POST /api/v1/reviews/{id}/acknowledge", handler: withBody(s, 200, func(r *http.Request, d gatehouse.Decision) (any, error) {
			n, err := pathID(r, "id")
			if err != nil {
				return nil, err
			}
			return sv.Reviews.AcknowledgeReview(r.Context(), n, d)
		})},
	}
}
