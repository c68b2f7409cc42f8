package httpapi

import (
	"net/http"

	"github.com/gatehousehq/gatehouse"
)

func (s *Server) approvalRoutes() []route {
	sv := s.svc
	id := func(r *http.Request) (int64, error) { return pathID(r, "id") }
	vote := func(fn func(r *http.Request, id int64, d gatehouse.Decision) (*gatehouse.ApprovalRequest, error)) http.Handler {
		return withBody(s, 200, func(r *http.Request, d gatehouse.Decision) (any, error) {
			n, err := id(r)
			if err != nil {
				return nil, err
			}
			return fn(r, n, d)
		})
	}
	return []route{
		{pattern: "GET /api/v1/policies", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			return items(sv.Policies.Policies(r.Context(), r.URL.Query().Get("project")))
		})},
		{pattern: "POST /api/v1/policies", handler: withBody(s, 201, func(r *http.Request, in gatehouse.PolicySpec) (any, error) {
			return sv.Policies.CreatePolicy(r.Context(), in)
		})},
		{pattern: "GET /api/v1/policies/{name}", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			return sv.Policies.Policy(r.Context(), r.PathValue("name"))
		})},
		{pattern: "PUT /api/v1/policies/{name}", handler: withBody(s, 200, func(r *http.Request, in gatehouse.PolicySpec) (any, error) {
			return sv.Policies.UpdatePolicy(r.Context(), r.PathValue("name"), in)
		})},
		{pattern: "DELETE /api/v1/policies/{name}", handler: noBody(s, 204, func(r *http.Request) (any, error) {
			return done(sv.Policies.DeletePolicy(r.Context(), r.PathValue("name")))
		})},
		{pattern: "POST /api/v1/projects/{project}/apps/{app}/approvals", handler: withBody(s, 201, func(r *http.Request, in gatehouse.ApprovalCreate) (any, error) {
			return sv.Approvals.RequestApproval(r.Context(), r.PathValue("project"), r.PathValue("app"), in)
		})},
		{pattern: "GET /api/v1/approvals", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			q := r.URL.Query()
			f := gatehouse.ApprovalFilter{Project: q.Get("project"), App: q.Get("app"), Environment: q.Get("environment"),
				State: gatehouse.ApprovalState(q.Get("state")), ForMe: q.Get("mine") == "true", Cursor: q.Get("cursor")}
			if err := numberParam(q, "limit", &f.Limit); err != nil {
				return nil, err
			}
			return page(sv.Approvals.Approvals(r.Context(), f))
		})},
		{pattern: "GET /api/v1/approvals/{id}", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			n, err := id(r)
			if err != nil {
				return nil, err
			}
			return sv.Approvals.Approval(r.Context(), n)
		})},
		{pattern: "GET /api/v1/approvals/{id}/review", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			n, err := id(r)
			if err != nil {
				return nil, err
			}
			return sv.Approvals.Review(r.Context(), n)
		})},
		{pattern: "POST /api/v1/approvals/{id}/approve", handler: vote(func(r *http.Request, n int64, d gatehouse.Decision) (*gatehouse.ApprovalRequest, error) {
			return sv.Approvals.Approve(r.Context(), n, d)
		})},
		{pattern: "POST /api/v1/approvals/{id}/reject", handler: vote(func(r *http.Request, n int64, d gatehouse.Decision) (*gatehouse.ApprovalRequest, error) {
			return sv.Approvals.Reject(r.Context(), n, d)
		})},
		{pattern: "POST /api/v1/approvals/{id}/cancel", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			n, err := id(r)
			if err != nil {
				return nil, err
			}
			return sv.Approvals.Cancel(r.Context(), n)
		})},
		{pattern: "GET /api/v1/projects/{project}/webhooks", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			return items(sv.Webhooks.Webhooks(r.Context(), r.PathValue("project")))
		})},
		{pattern: "POST /api/v1/projects/{project}/webhooks", handler: withBody(s, 201, func(r *http.Request, in gatehouse.WebhookCreate) (any, error) {
			return sv.Webhooks.CreateWebhook(r.Context(), r.PathValue("project"), in)
		})},
		{pattern: "DELETE /api/v1/projects/{project}/webhooks/{id}", handler: noBody(s, 204, func(r *http.Request) (any, error) {
			n, err := id(r)
			if err != nil {
				return nil, err
			}
			return done(sv.Webhooks.DeleteWebhook(r.Context(), r.PathValue("project"), n))
		})},
	}
}
