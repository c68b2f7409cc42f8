package httpapi_test

import (
	"encoding/json"
	"fmt"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

// endpoints is the expected access matrix, written out by hand from the role definitions (not
// derived from the code under test). Every route the server registers must appear here.
var endpoints = []endpoint{
	{"GET /healthz", everyone, staticCall("GET", "/healthz", nil)},
	{"GET /readyz", everyone, staticCall("GET", "/readyz", nil)},
	{"POST /api/v1/session", everyone, staticCall("POST", "/api/v1/session", creds)},
	{"POST /api/v1/tokens/login", everyone, staticCall("POST", "/api/v1/tokens/login", map[string]any{"username": "loginuser", "password": testserver.Password, "name": "x"})},
	{"GET /api/v1/session", signedIn, staticCall("GET", "/api/v1/session", nil)},
	{"DELETE /api/v1/session", signedIn, func(*world, string) call { return call{method: "DELETE", path: "/api/v1/session", fresh: true} }},
	{"GET /api/v1/me", signedIn, staticCall("GET", "/api/v1/me", nil)},
	{"GET /api/v1/attestation-keys", signedIn, staticCall("GET", "/api/v1/attestation-keys", nil)},
	{"PUT /api/v1/me/password", signedIn, func(*world, string) call {
		return call{method: "PUT", path: "/api/v1/me/password", fresh: true, body: map[string]string{"current_password": testserver.Password, "new_password": testserver.Password}}
	}},
	{"GET /api/v1/tokens", signedIn, staticCall("GET", "/api/v1/tokens", nil)},
	{"POST /api/v1/tokens", signedIn, staticCall("POST", "/api/v1/tokens", gatehouse.TokenCreate{Name: "t"})},
	{"DELETE /api/v1/tokens/{id}", signedIn, func(w *world, role string) call {
		owner := w.sessions[role]
		if owner == nil {
			owner = w.sessions["super-admin"]
		}
		_, b := w.raw(owner, "POST", "/api/v1/tokens", gatehouse.TokenCreate{Name: "victim"})
		var tok gatehouse.NewToken
		_ = json.Unmarshal(b, &tok)
		return call{method: "DELETE", path: fmt.Sprintf("/api/v1/tokens/%d", tok.ID)}
	}},
	{"GET /api/v1/users", signedIn, staticCall("GET", "/api/v1/users", nil)},
	{"POST /api/v1/users", superAdmins, func(w *world, _ string) call {
		return call{method: "POST", path: "/api/v1/users", body: gatehouse.UserCreate{Name: w.Unique("u"), Kind: gatehouse.ServiceAccount}}
	}},
	// loginuser and group sre are bound nowhere: only those who see the whole directory find them.
	{"GET /api/v1/users/{user}", directory, staticCall("GET", "/api/v1/users/loginuser", nil)},
	{"PATCH /api/v1/users/{user}", superAdmins, staticCall("PATCH", "/api/v1/users/loginuser", map[string]string{"display_name": "L"})},
	{"GET /api/v1/users/{user}/tokens", superAdmins, staticCall("GET", "/api/v1/users/ci/tokens", nil)},
	{"POST /api/v1/users/{user}/tokens", superAdmins, staticCall("POST", "/api/v1/users/ci/tokens", gatehouse.TokenCreate{Name: "ci"})},
	{"GET /api/v1/groups", signedIn, staticCall("GET", "/api/v1/groups", nil)},
	{"POST /api/v1/groups", superAdmins, func(w *world, _ string) call {
		return call{method: "POST", path: "/api/v1/groups", body: gatehouse.GroupCreate{Name: w.Unique("g")}}
	}},
	{"GET /api/v1/groups/{group}", directory, staticCall("GET", "/api/v1/groups/sre", nil)},
	{"DELETE /api/v1/groups/{group}", superAdmins, func(w *world, _ string) call {
		g := w.Unique("g")
		w.Do("POST", "/api/v1/groups", gatehouse.GroupCreate{Name: g})
		return call{method: "DELETE", path: "/api/v1/groups/" + g}
	}},
	{"PUT /api/v1/groups/{group}/members/{user}", superAdmins, staticCall("PUT", "/api/v1/groups/sre/members/loginuser", nil)},
	{"DELETE /api/v1/groups/{group}/members/{user}", superAdmins, func(w *world, _ string) call {
		w.Do("PUT", "/api/v1/groups/sre/members/ci", nil)
		return call{method: "DELETE", path: "/api/v1/groups/sre/members/ci"}
	}},
	{"GET /api/v1/rolebindings", signedIn, staticCall("GET", "/api/v1/rolebindings", nil)},
	{"POST /api/v1/rolebindings", grantors, func(w *world, _ string) call {
		u := w.Unique("grantee")
		w.Do("POST", "/api/v1/users", gatehouse.UserCreate{Name: u, Kind: gatehouse.ServiceAccount})
		return call{method: "POST", path: "/api/v1/rolebindings", body: gatehouse.RoleBindingCreate{User: u, Role: gatehouse.RoleAccessManager, Scope: "project:shop"}}
	}},
	{"DELETE /api/v1/rolebindings/{id}", grantors, func(w *world, _ string) call {
		u := w.Unique("grantee")
		w.Do("POST", "/api/v1/users", gatehouse.UserCreate{Name: u, Kind: gatehouse.ServiceAccount})
		var b gatehouse.RoleBinding
		_ = w.Admin.Do(w.t.Context(), "POST", "/api/v1/rolebindings", nil, gatehouse.RoleBindingCreate{User: u, Role: gatehouse.RoleAccessManager, Scope: "project:shop"}, &b)
		return call{method: "DELETE", path: fmt.Sprintf("/api/v1/rolebindings/%d", b.ID)}
	}},
	{"GET /api/v1/clusters", signedIn, staticCall("GET", "/api/v1/clusters", nil)},
	{"POST /api/v1/clusters", superAdmins, func(w *world, _ string) call {
		return call{method: "POST", path: "/api/v1/clusters", body: gatehouse.ClusterCreate{Name: w.Unique("c"), Kubeconfig: gatehouse.OutgoingSecret(kubeconfig)}}
	}},
	{"GET /api/v1/clusters/{cluster}", signedIn, staticCall("GET", "/api/v1/clusters/c1", nil)},
	{"PATCH /api/v1/clusters/{cluster}", superAdmins, staticCall("PATCH", "/api/v1/clusters/c1", map[string]string{"description": "d"})},
	{"DELETE /api/v1/clusters/{cluster}", superAdmins, func(w *world, _ string) call {
		c := w.Unique("c")
		w.Do("POST", "/api/v1/clusters", gatehouse.ClusterCreate{Name: c, Kubeconfig: gatehouse.OutgoingSecret(kubeconfig)})
		return call{method: "DELETE", path: "/api/v1/clusters/" + c}
	}},
	{"GET /api/v1/projects", signedIn, staticCall("GET", "/api/v1/projects", nil)},
	{"POST /api/v1/projects", superAdmins, func(w *world, _ string) call {
		return call{method: "POST", path: "/api/v1/projects", body: gatehouse.ProjectCreate{Name: w.Unique("p")}}
	}},
	{"GET /api/v1/projects/{project}", inShop, staticCall("GET", "/api/v1/projects/shop", nil)},
	{"PATCH /api/v1/projects/{project}", shopAdmins, staticCall("PATCH", "/api/v1/projects/shop", map[string]string{"description": "d"})},
	{"DELETE /api/v1/projects/{project}", superAdmins, func(w *world, _ string) call {
		p := w.Unique("p")
		w.Do("POST", "/api/v1/projects", gatehouse.ProjectCreate{Name: p})
		return call{method: "DELETE", path: "/api/v1/projects/" + p}
	}},
	{"GET /api/v1/projects/{project}/environments", inShop, staticCall("GET", "/api/v1/projects/shop/environments", nil)},
	{"POST /api/v1/projects/{project}/environments", shopAdmins, func(w *world, _ string) call {
		e := w.Unique("e")
		return call{method: "POST", path: "/api/v1/projects/shop/environments", body: gatehouse.EnvironmentCreate{Name: e, Cluster: "c1", Namespace: e}}
	}},
	{"GET /api/v1/projects/{project}/environments/{env}", inShop, staticCall("GET", "/api/v1/projects/shop/environments/prod", nil)},
	{"PATCH /api/v1/projects/{project}/environments/{env}", shopAdmins, staticCall("PATCH", "/api/v1/projects/shop/environments/prod", map[string]bool{"production": true})},
	{"DELETE /api/v1/projects/{project}/environments/{env}", shopAdmins, func(w *world, _ string) call {
		e := w.Unique("e")
		w.Do("POST", "/api/v1/projects/shop/environments", gatehouse.EnvironmentCreate{Name: e, Cluster: "c1", Namespace: e})
		return call{method: "DELETE", path: "/api/v1/projects/shop/environments/" + e}
	}},
	{"GET /api/v1/projects/{project}/apps", inShop, staticCall("GET", "/api/v1/projects/shop/apps", nil)},
	{"POST /api/v1/projects/{project}/apps", shopAdmins, func(w *world, _ string) call {
		return call{method: "POST", path: "/api/v1/projects/shop/apps", body: gatehouse.AppCreate{Name: w.Unique("a")}}
	}},
	{"GET /api/v1/projects/{project}/apps/{app}", inShop, staticCall("GET", "/api/v1/projects/shop/apps/web", nil)},
	{"PATCH /api/v1/projects/{project}/apps/{app}", shopAdmins, staticCall("PATCH", "/api/v1/projects/shop/apps/web", map[string]string{"description": "d"})},
	{"DELETE /api/v1/projects/{project}/apps/{app}", shopAdmins, func(w *world, _ string) call {
		a := w.Unique("a")
		w.Do("POST", "/api/v1/projects/shop/apps", gatehouse.AppCreate{Name: a})
		return call{method: "DELETE", path: "/api/v1/projects/shop/apps/" + a}
	}},
	{"GET /api/v1/projects/{project}/apps/{app}/pipeline", inShop, staticCall("GET", "/api/v1/projects/shop/apps/web/pipeline", nil)},
	{"PUT /api/v1/projects/{project}/apps/{app}/pipeline", shopAdmins, staticCall("PUT", "/api/v1/projects/shop/apps/web/pipeline",
		gatehouse.PipelineSet{Stages: []gatehouse.Stage{{Environment: "dev"}, {Environment: "prod", After: "dev"}}})},
	{"GET /api/v1/projects/{project}/apps/{app}/artifacts", inShop, staticCall("GET", "/api/v1/projects/shop/apps/web/artifacts", nil)},
	{"POST /api/v1/projects/{project}/apps/{app}/artifacts", pushers, func(w *world, _ string) call {
		return call{method: "POST", path: "/api/v1/projects/shop/apps/web/artifacts", body: gatehouse.ArtifactCreate{Image: "r.example.com/web@" + testserver.Digest(1000+w.Next())}}
	}},
	{"GET /api/v1/projects/{project}/apps/{app}/artifacts/{digest}", inShop, staticCall("GET", "/api/v1/projects/shop/apps/web/artifacts/"+digest1, nil)},
	{"PATCH /api/v1/projects/{project}/apps/{app}/artifacts/{digest}", pushers, staticCall("PATCH", "/api/v1/projects/shop/apps/web/artifacts/"+digest1,
		gatehouse.ArtifactUpdate{SetNotes: map[string]string{"k": "v"}})},
	{"DELETE /api/v1/projects/{project}/apps/{app}/artifacts/{digest}", shopAdmins, func(w *world, _ string) call {
		d := testserver.Digest(5000 + w.Next())
		w.Do("POST", "/api/v1/projects/shop/apps/web/artifacts", gatehouse.ArtifactCreate{Image: "r.example.com/web@" + d})
		return call{method: "DELETE", path: "/api/v1/projects/shop/apps/web/artifacts/" + d}
	}},
	{"GET /api/v1/projects/{project}/apps/{app}/overrides", inShop, staticCall("GET", "/api/v1/projects/shop/apps/web/overrides", nil)},
	{"PUT /api/v1/projects/{project}/apps/{app}/overrides/{env}", shopAdmins, func(w *world, _ string) call {
		return call{method: "PUT", path: "/api/v1/projects/shop/apps/web/overrides/prod", body: map[string]string{"values": fmt.Sprintf("replicas: %d\n", w.Next())}}
	}},
	{"GET /api/v1/projects/{project}/apps/{app}/deployments", inShop, staticCall("GET", "/api/v1/projects/shop/apps/web/deployments", nil)},
	{"POST /api/v1/projects/{project}/apps/{app}/deployments", pushers, staticCall("POST", "/api/v1/projects/shop/apps/web/deployments",
		gatehouse.DeploymentCreate{Environment: "dev", Digest: digest1})},
	{"GET /api/v1/projects/{project}/apps/{app}/deployments/preview", inShop, staticCall("GET", "/api/v1/projects/shop/apps/web/deployments/preview?environment=prod&digest="+digest1, nil)},
	{"GET /api/v1/projects/{project}/apps/{app}/deployments/{id}", inShop, staticCall("GET", "/api/v1/projects/shop/apps/web/deployments/1", nil)},
	{"POST /api/v1/projects/{project}/apps/{app}/deployments/{id}/rollback", pushers, staticCall("POST", "/api/v1/projects/shop/apps/web/deployments/1/rollback", nil)},
	{"GET /api/v1/projects/{project}/apps/{app}/deployments/{id}/diff/{other}", inShop, staticCall("GET", "/api/v1/projects/shop/apps/web/deployments/1/diff/2", nil)},
	{"GET /api/v1/policies", signedIn, staticCall("GET", "/api/v1/policies", nil)},
	{"POST /api/v1/policies", shopAdmins, func(w *world, _ string) call {
		return call{method: "POST", path: "/api/v1/policies", body: gatehouse.PolicySpec{Name: w.Unique("pol"), Scope: "project:shop/env:nowhere",
			Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}}}
	}},
	{"GET /api/v1/policies/{name}", inShop, staticCall("GET", "/api/v1/policies/gate", nil)},
	{"PUT /api/v1/policies/{name}", shopAdmins, staticCall("PUT", "/api/v1/policies/spare", gatehouse.PolicySpec{Scope: "project:shop/env:nowhere",
		Rules: []gatehouse.Rule{{Kind: "any", Count: 2}}})},
	{"DELETE /api/v1/policies/{name}", shopAdmins, func(w *world, _ string) call {
		n := w.Unique("pol")
		w.Do("POST", "/api/v1/policies", gatehouse.PolicySpec{Name: n, Scope: "project:shop/env:nowhere", Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}})
		return call{method: "DELETE", path: "/api/v1/policies/" + n}
	}},
	{"GET /api/v1/windows", signedIn, staticCall("GET", "/api/v1/windows", nil)},
	{"POST /api/v1/windows", shopAdmins, func(w *world, _ string) call {
		return call{method: "POST", path: "/api/v1/windows", body: spareWindow(w.Unique("win"))}
	}},
	{"GET /api/v1/windows/{name}", inShop, func(w *world, _ string) call {
		n := w.Unique("win")
		w.Do("POST", "/api/v1/windows", spareWindow(n))
		return call{method: "GET", path: "/api/v1/windows/" + n}
	}},
	{"PUT /api/v1/windows/{name}", shopAdmins, func(w *world, _ string) call {
		n := w.Unique("win")
		w.Do("POST", "/api/v1/windows", spareWindow(n))
		longer := spareWindow(n)
		longer.Duration = "2h"
		return call{method: "PUT", path: "/api/v1/windows/" + n, body: longer}
	}},
	{"DELETE /api/v1/windows/{name}", shopAdmins, func(w *world, _ string) call {
		n := w.Unique("win")
		w.Do("POST", "/api/v1/windows", spareWindow(n))
		return call{method: "DELETE", path: "/api/v1/windows/" + n}
	}},
	{"GET /api/v1/reviews", signedIn, staticCall("GET", "/api/v1/reviews?overdue=false", nil)},
	{"GET /api/v1/reviews/{id}", inShop, staticCall("GET", "/api/v1/reviews/1", nil)},
	{"POST /api/v1/reviews/{id}/acknowledge", testserver.ImageApprovers, func(w *world, _ string) call {
		return call{method: "POST", path: fmt.Sprintf("/api/v1/reviews/%d/acknowledge", w.BreakGlass(w.Push())), body: gatehouse.Decision{Comment: "seen the incident"}}
	}},
	{"GET /api/v1/projects/{project}/environments/{env}/window", inShop, staticCall("GET", "/api/v1/projects/shop/environments/prod/window?app=web", nil)},
	{"GET /api/v1/projects/{project}/apps/{app}/waiting", inShop, staticCall("GET", "/api/v1/projects/shop/apps/web/waiting", nil)},
	{"POST /api/v1/projects/{project}/apps/{app}/approvals", pushers, func(w *world, _ string) call {
		d := testserver.Digest(7000 + w.Next())
		w.Do("POST", "/api/v1/projects/shop/apps/web/artifacts", gatehouse.ArtifactCreate{Image: "r.example.com/web@" + d})
		return call{method: "POST", path: "/api/v1/projects/shop/apps/web/approvals", body: gatehouse.ApprovalCreate{Environment: "prod", Digest: d}}
	}},
	{"GET /api/v1/approvals", signedIn, staticCall("GET", "/api/v1/approvals", nil)},
	{"GET /api/v1/approvals/{id}", inShop, staticCall("GET", "/api/v1/approvals/1", nil)},
	{"GET /api/v1/approvals/{id}/review", inShop, staticCall("GET", "/api/v1/approvals/1/review", nil)},
	{"POST /api/v1/approvals/{id}/approve", []string{"image-approver"}, func(w *world, role string) call {
		return call{method: "POST", path: fmt.Sprintf("/api/v1/approvals/%d/approve", w.OpenRequest(role)), body: gatehouse.Decision{}}
	}},
	{"POST /api/v1/approvals/{id}/reject", []string{"image-approver"}, func(w *world, role string) call {
		return call{method: "POST", path: fmt.Sprintf("/api/v1/approvals/%d/reject", w.OpenRequest(role)), body: gatehouse.Decision{Comment: "no"}}
	}},
	{"POST /api/v1/approvals/{id}/cancel", pushers, func(w *world, role string) call {
		return call{method: "POST", path: fmt.Sprintf("/api/v1/approvals/%d/cancel", w.OpenRequest(role))}
	}},
	{"GET /api/v1/projects/{project}/webhooks", inShop, staticCall("GET", "/api/v1/projects/shop/webhooks", nil)},
	{"POST /api/v1/projects/{project}/webhooks", shopAdmins, func(w *world, _ string) call {
		return call{method: "POST", path: "/api/v1/projects/shop/webhooks", body: gatehouse.WebhookCreate{Name: w.Unique("hook"), URL: gatehouse.OutgoingSecret("https://hooks.example.com/x")}}
	}},
	{"DELETE /api/v1/projects/{project}/webhooks/{id}", shopAdmins, func(w *world, _ string) call {
		var h gatehouse.Webhook
		_ = w.Admin.Do(w.t.Context(), "POST", "/api/v1/projects/shop/webhooks", nil, gatehouse.WebhookCreate{Name: w.Unique("hook"), URL: gatehouse.OutgoingSecret("https://hooks.example.com/x")}, &h)
		return call{method: "DELETE", path: fmt.Sprintf("/api/v1/projects/shop/webhooks/%d", h.ID)}
	}},
	{"GET /api/v1/audit", shopAdmins, staticCall("GET", "/api/v1/audit?project=shop", nil)},
	{"POST /api/v1/audit/verify", superAdmins, staticCall("POST", "/api/v1/audit/verify", nil)},
	{"POST /api/v1/audit/checkpoint", superAdmins, staticCall("POST", "/api/v1/audit/checkpoint", nil)},
	{"GET /api/v1/metrics/dora", inShop, staticCall("GET", "/api/v1/metrics/dora?project=shop", nil)},
	{"GET /api/v1/metrics/leadtime", inShop, staticCall("GET", "/api/v1/metrics/leadtime?project=shop&since=7d", nil)},
}

// spareWindow is a freeze of an environment nothing deploys to: creating, lengthening and
// deleting it change nothing that runs.
func spareWindow(name string) gatehouse.WindowSpec {
	return gatehouse.WindowSpec{Name: name, Kind: gatehouse.WindowDeny, Scope: "project:shop/env:nowhere", RRule: "FREQ=WEEKLY;BYDAY=SU", Duration: "1h"}
}
