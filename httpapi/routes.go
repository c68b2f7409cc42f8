package httpapi

import (
	"net/http"
	"slices"

	"github.com/gatehousehq/gatehouse"
)

// route is one endpoint. Every route but the public ones requires an authenticated actor; the
// services then decide what the actor may do.
type route struct {
	pattern string
	public  bool
	handler http.Handler
}

// Routes lists the patterns of the API's own endpoints, for documentation and for the test
// that walks every endpoint with every role. With Mounted they are every pattern the server
// serves: nothing reaches its mux any other way.
func (s *Server) Routes() []string {
	var out []string
	for _, r := range s.routes() {
		out = append(out, r.pattern)
	}
	return out
}

// Mounted lists the patterns mounted with Handle (the web UI's pages, the approve links), in
// the order they were mounted, for the test that walks every page with every role.
func (s *Server) Mounted() []string { return slices.Clone(s.mounted) }

func (s *Server) routes() []route {
	return slices.Concat(s.coreRoutes(), s.deployRoutes(), s.approvalRoutes(), s.configRoutes(), s.metricsRoutes(), s.windowRoutes(), s.reviewRoutes())
}

func (s *Server) coreRoutes() []route {
	sv := s.svc
	p := func(r *http.Request) string { return r.PathValue("project") }
	app := func(r *http.Request) string { return r.PathValue("app") }
	return []route{
		{pattern: "GET /healthz", public: true, handler: noBody(s, 200, func(r *http.Request) (any, error) { return map[string]string{"status": "ok"}, nil })},
		{pattern: "GET /readyz", public: true, handler: noBody(s, 200, func(r *http.Request) (any, error) {
			if err := sv.Ready(r.Context()); err != nil {
				s.log.Warn("not ready", "err", err)
				return nil, gatehouse.Errorf(gatehouse.KindInternal, "not ready")
			}
			return map[string]string{"status": "ready"}, nil
		})},

		// Identity.
		{pattern: "POST /api/v1/session", public: true, handler: http.HandlerFunc(s.createSession)},
		{pattern: "POST /api/v1/tokens/login", public: true, handler: withBody(s, 201, s.tokenLogin)},
		{pattern: "GET /api/v1/session", handler: noBody(s, 200, s.currentSession)},
		{pattern: "DELETE /api/v1/session", handler: http.HandlerFunc(s.deleteSession)},
		{pattern: "GET /api/v1/me", handler: noBody(s, 200, s.me)},
		{pattern: "GET /api/v1/attestation-keys", handler: noBody(s, 200, func(r *http.Request) (any, error) { return items(sv.Attestations.AttestationKeys(r.Context())) })},
		{pattern: "PUT /api/v1/me/password", handler: withBody(s, 204, func(r *http.Request, in gatehouse.PasswordChange) (any, error) {
			return done(sv.Users.ChangePassword(r.Context(), in))
		})},
		{pattern: "GET /api/v1/tokens", handler: noBody(s, 200, func(r *http.Request) (any, error) { return items(sv.Identity.Tokens(r.Context(), "")) })},
		{pattern: "POST /api/v1/tokens", handler: withBody(s, 201, func(r *http.Request, in gatehouse.TokenCreate) (any, error) {
			return sv.Identity.CreateToken(r.Context(), "", in)
		})},
		{pattern: "DELETE /api/v1/tokens/{id}", handler: noBody(s, 204, func(r *http.Request) (any, error) {
			id, err := pathID(r, "id")
			if err != nil {
				return nil, err
			}
			return done(sv.Identity.RevokeToken(r.Context(), id))
		})},

		// Users, groups, role bindings.
		{pattern: "GET /api/v1/users", handler: noBody(s, 200, func(r *http.Request) (any, error) { return items(sv.Users.Users(r.Context())) })},
		{pattern: "POST /api/v1/users", handler: withBody(s, 201, func(r *http.Request, in gatehouse.UserCreate) (any, error) {
			return sv.Users.CreateUser(r.Context(), in)
		})},
		{pattern: "GET /api/v1/users/{user}", handler: noBody(s, 200, func(r *http.Request) (any, error) { return sv.Users.User(r.Context(), r.PathValue("user")) })},
		{pattern: "PATCH /api/v1/users/{user}", handler: withBody(s, 200, func(r *http.Request, in gatehouse.UserUpdate) (any, error) {
			return sv.Users.UpdateUser(r.Context(), r.PathValue("user"), in)
		})},
		{pattern: "GET /api/v1/users/{user}/tokens", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			return items(sv.Identity.Tokens(r.Context(), r.PathValue("user")))
		})},
		{pattern: "POST /api/v1/users/{user}/tokens", handler: withBody(s, 201, func(r *http.Request, in gatehouse.TokenCreate) (any, error) {
			return sv.Identity.CreateToken(r.Context(), r.PathValue("user"), in)
		})},
		{pattern: "GET /api/v1/groups", handler: noBody(s, 200, func(r *http.Request) (any, error) { return items(sv.Groups.Groups(r.Context())) })},
		{pattern: "POST /api/v1/groups", handler: withBody(s, 201, func(r *http.Request, in gatehouse.GroupCreate) (any, error) {
			return sv.Groups.CreateGroup(r.Context(), in)
		})},
		{pattern: "GET /api/v1/groups/{group}", handler: noBody(s, 200, func(r *http.Request) (any, error) { return sv.Groups.Group(r.Context(), r.PathValue("group")) })},
		{pattern: "DELETE /api/v1/groups/{group}", handler: noBody(s, 204, func(r *http.Request) (any, error) {
			return done(sv.Groups.DeleteGroup(r.Context(), r.PathValue("group")))
		})},
		{pattern: "PUT /api/v1/groups/{group}/members/{user}", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			return sv.Groups.AddGroupMember(r.Context(), r.PathValue("group"), r.PathValue("user"))
		})},
		{pattern: "DELETE /api/v1/groups/{group}/members/{user}", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			return sv.Groups.RemoveGroupMember(r.Context(), r.PathValue("group"), r.PathValue("user"))
		})},
		{pattern: "GET /api/v1/rolebindings", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			q := r.URL.Query()
			return items(sv.RoleBindings.RoleBindings(r.Context(), gatehouse.RoleBindingFilter{User: q.Get("user"), Group: q.Get("group"), Project: q.Get("project")}))
		})},
		{pattern: "POST /api/v1/rolebindings", handler: withBody(s, 201, func(r *http.Request, in gatehouse.RoleBindingCreate) (any, error) {
			return sv.RoleBindings.CreateRoleBinding(r.Context(), in)
		})},
		{pattern: "DELETE /api/v1/rolebindings/{id}", handler: noBody(s, 204, func(r *http.Request) (any, error) {
			id, err := pathID(r, "id")
			if err != nil {
				return nil, err
			}
			return done(sv.RoleBindings.DeleteRoleBinding(r.Context(), id))
		})},

		// Clusters.
		{pattern: "GET /api/v1/clusters", handler: noBody(s, 200, func(r *http.Request) (any, error) { return items(sv.Clusters.Clusters(r.Context())) })},
		{pattern: "POST /api/v1/clusters", handler: withBody(s, 201, func(r *http.Request, in gatehouse.ClusterCreate) (any, error) {
			return sv.Clusters.CreateCluster(r.Context(), in)
		})},
		{pattern: "GET /api/v1/clusters/{cluster}", handler: noBody(s, 200, func(r *http.Request) (any, error) { return sv.Clusters.Cluster(r.Context(), r.PathValue("cluster")) })},
		{pattern: "PATCH /api/v1/clusters/{cluster}", handler: withBody(s, 200, func(r *http.Request, in gatehouse.ClusterUpdate) (any, error) {
			return sv.Clusters.UpdateCluster(r.Context(), r.PathValue("cluster"), in)
		})},
		{pattern: "DELETE /api/v1/clusters/{cluster}", handler: noBody(s, 204, func(r *http.Request) (any, error) {
			return done(sv.Clusters.DeleteCluster(r.Context(), r.PathValue("cluster")))
		})},

		// Projects.
		{pattern: "GET /api/v1/projects", handler: noBody(s, 200, func(r *http.Request) (any, error) { return items(sv.Projects.Projects(r.Context())) })},
		{pattern: "POST /api/v1/projects", handler: withBody(s, 201, func(r *http.Request, in gatehouse.ProjectCreate) (any, error) {
			return sv.Projects.CreateProject(r.Context(), in)
		})},
		{pattern: "GET /api/v1/projects/{project}", handler: noBody(s, 200, func(r *http.Request) (any, error) { return sv.Projects.Project(r.Context(), p(r)) })},
		{pattern: "PATCH /api/v1/projects/{project}", handler: withBody(s, 200, func(r *http.Request, in gatehouse.ProjectUpdate) (any, error) {
			return sv.Projects.UpdateProject(r.Context(), p(r), in)
		})},
		{pattern: "DELETE /api/v1/projects/{project}", handler: noBody(s, 204, func(r *http.Request) (any, error) { return done(sv.Projects.DeleteProject(r.Context(), p(r))) })},

		// Environments.
		{pattern: "GET /api/v1/projects/{project}/environments", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			return items(sv.Environments.Environments(r.Context(), p(r)))
		})},
		{pattern: "POST /api/v1/projects/{project}/environments", handler: withBody(s, 201, func(r *http.Request, in gatehouse.EnvironmentCreate) (any, error) {
			return sv.Environments.CreateEnvironment(r.Context(), p(r), in)
		})},
		{pattern: "GET /api/v1/projects/{project}/environments/{env}", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			return sv.Environments.Environment(r.Context(), p(r), r.PathValue("env"))
		})},
		{pattern: "PATCH /api/v1/projects/{project}/environments/{env}", handler: withBody(s, 200, func(r *http.Request, in gatehouse.EnvironmentUpdate) (any, error) {
			return sv.Environments.UpdateEnvironment(r.Context(), p(r), r.PathValue("env"), in)
		})},
		{pattern: "DELETE /api/v1/projects/{project}/environments/{env}", handler: noBody(s, 204, func(r *http.Request) (any, error) {
			return done(sv.Environments.DeleteEnvironment(r.Context(), p(r), r.PathValue("env")))
		})},

		// Apps and pipelines.
		{pattern: "GET /api/v1/projects/{project}/apps", handler: noBody(s, 200, func(r *http.Request) (any, error) { return items(sv.Apps.Apps(r.Context(), p(r))) })},
		{pattern: "POST /api/v1/projects/{project}/apps", handler: withBody(s, 201, func(r *http.Request, in gatehouse.AppCreate) (any, error) {
			return sv.Apps.CreateApp(r.Context(), p(r), in)
		})},
		{pattern: "GET /api/v1/projects/{project}/apps/{app}", handler: noBody(s, 200, func(r *http.Request) (any, error) { return sv.Apps.App(r.Context(), p(r), app(r)) })},
		{pattern: "PATCH /api/v1/projects/{project}/apps/{app}", handler: withBody(s, 200, func(r *http.Request, in gatehouse.AppUpdate) (any, error) {
			return sv.Apps.UpdateApp(r.Context(), p(r), app(r), in)
		})},
		{pattern: "DELETE /api/v1/projects/{project}/apps/{app}", handler: noBody(s, 204, func(r *http.Request) (any, error) {
			return done(sv.Apps.DeleteApp(r.Context(), p(r), app(r)))
		})},
		{pattern: "GET /api/v1/projects/{project}/apps/{app}/pipeline", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			return sv.Pipelines.Pipeline(r.Context(), p(r), app(r))
		})},
		{pattern: "PUT /api/v1/projects/{project}/apps/{app}/pipeline", handler: withBody(s, 200, func(r *http.Request, in gatehouse.PipelineSet) (any, error) {
			return sv.Pipelines.SetPipeline(r.Context(), p(r), app(r), in)
		})},

		// Artifacts.
		{pattern: "GET /api/v1/projects/{project}/apps/{app}/artifacts", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			q := r.URL.Query()
			f := gatehouse.ArtifactFilter{Tag: q.Get("tag"), IncludeRetracted: q.Get("retracted") == "true"}
			if err := numberParam(q, "limit", &f.Limit); err != nil {
				return nil, err
			}
			return items(sv.Artifacts.Artifacts(r.Context(), p(r), app(r), f))
		})},
		{pattern: "POST /api/v1/projects/{project}/apps/{app}/artifacts", handler: withBody(s, 201, func(r *http.Request, in gatehouse.ArtifactCreate) (any, error) {
			return sv.Artifacts.CreateArtifact(r.Context(), p(r), app(r), in)
		})},
		{pattern: "GET /api/v1/projects/{project}/apps/{app}/artifacts/{digest}", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			return sv.Artifacts.Artifact(r.Context(), p(r), app(r), r.PathValue("digest"))
		})},
		{pattern: "PATCH /api/v1/projects/{project}/apps/{app}/artifacts/{digest}", handler: withBody(s, 200, func(r *http.Request, in gatehouse.ArtifactUpdate) (any, error) {
			return sv.Artifacts.UpdateArtifact(r.Context(), p(r), app(r), r.PathValue("digest"), in)
		})},
		{pattern: "DELETE /api/v1/projects/{project}/apps/{app}/artifacts/{digest}", handler: noBody(s, 200, func(r *http.Request) (any, error) {
			return sv.Artifacts.RetractArtifact(r.Context(), p(r), app(r), r.PathValue("digest"))
		})},

		// Audit (deploy routes are appended below).
		{pattern: "GET /api/v1/audit", handler: http.HandlerFunc(s.auditEvents)},
		{pattern: "POST /api/v1/audit/verify", handler: optionalBody(s, 200, func(r *http.Request, in gatehouse.AuditVerify) (any, error) {
			if in.Checkpoint == nil {
				return sv.Audit.VerifyAudit(r.Context())
			}
			return sv.Audit.VerifyAuditCheckpoint(r.Context(), *in.Checkpoint)
		})},
		{pattern: "POST /api/v1/audit/checkpoint", handler: noBody(s, 201, func(r *http.Request) (any, error) { return sv.Audit.CheckpointAudit(r.Context()) })},
	}
}
