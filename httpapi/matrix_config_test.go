package httpapi_test

import (
	"fmt"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

const apiProd = testserver.APIProdConfigMap

// addConfig adds the world's configuration part (testserver.World.AddConfig) and a browser
// session of its config voter.
func (w *world) addConfig() {
	w.AddConfig()
	w.sessions["voter"] = w.login(testserver.ConfigVoter)
}

func onDraft(state gatehouse.DraftState, verb string, body any) func(*world, string) call {
	return func(w *world, _ string) call {
		return call{method: "POST", path: fmt.Sprintf("/api/v1/drafts/%d/%s", w.FreshDraft(state), verb), body: body}
	}
}

var configEndpoints = []endpoint{
	{"GET /api/v1/projects/{project}/apps/{app}/config/values", inShop, staticCall("GET", "/api/v1/projects/shop/apps/web/config/values", nil)},
	{"PUT /api/v1/projects/{project}/apps/{app}/config/values", shopAdmins, func(w *world, _ string) call {
		return call{method: "PUT", path: "/api/v1/projects/shop/apps/web/config/values", body: gatehouse.ConfigWrite{Content: fmt.Sprintf("replicas: %d\n", w.Next())}}
	}},
	{"POST /api/v1/projects/{project}/apps/{app}/config/values/drafts", shopAdmins, func(w *world, _ string) call {
		w.ClearDrafts()
		return call{method: "POST", path: "/api/v1/projects/shop/apps/api/config/values/drafts", body: gatehouse.ConfigWrite{Content: fmt.Sprintf("replicas: %d\n", 2+w.Next()%5)}}
	}},
	{"GET /api/v1/projects/{project}/apps/{app}/environments/{env}/config/{kind}", inShop, staticCall("GET", "/api/v1/projects/shop/apps/web/environments/prod/config/secrets", nil)},
	{"PUT /api/v1/projects/{project}/apps/{app}/environments/{env}/config/{kind}", shopAdmins, func(w *world, _ string) call {
		return call{method: "PUT", path: "/api/v1/projects/shop/apps/web/environments/dev/config/configmap", body: gatehouse.ConfigWrite{Content: fmt.Sprintf("N: \"%d\"\n", w.Next())}}
	}},
	{"POST /api/v1/projects/{project}/apps/{app}/environments/{env}/config/{kind}/drafts", shopAdmins, func(w *world, _ string) call {
		w.ClearDrafts()
		return call{method: "POST", path: apiProd + "/drafts", body: gatehouse.ConfigWrite{Content: fmt.Sprintf("N: \"%d\"\n", w.Next())}}
	}},
	{"GET /api/v1/projects/{project}/apps/{app}/config-compare", inShop, staticCall("GET", "/api/v1/projects/shop/apps/web/config-compare?from=dev&to=prod", nil)},
	{"GET /api/v1/drafts", signedIn, staticCall("GET", "/api/v1/drafts", nil)},
	{"POST /api/v1/drafts", shopAdmins, func(w *world, _ string) call {
		w.ClearDrafts()
		return call{method: "POST", path: "/api/v1/drafts", body: gatehouse.DraftCreate{
			DraftRef:    gatehouse.DraftRef{Kind: gatehouse.DraftConfigMap, Project: "shop", App: "api", Environment: "prod"},
			ConfigWrite: gatehouse.ConfigWrite{Content: fmt.Sprintf("N: \"%d\"\n", w.Next())}}}
	}},
	{"GET /api/v1/live", inShop, staticCall("GET", "/api/v1/live?kind=environment&project=shop&environment=prod", nil)},
	{"GET /api/v1/drafts/{id}", inShop, func(w *world, _ string) call {
		return call{method: "GET", path: fmt.Sprintf("/api/v1/drafts/%d", w.FreshDraft(gatehouse.DraftOpen))}
	}},
	{"POST /api/v1/drafts/{id}/versions", shopAdmins, func(w *world, _ string) call {
		return call{method: "POST", path: fmt.Sprintf("/api/v1/drafts/%d/versions", w.FreshDraft(gatehouse.DraftOpen)),
			body: gatehouse.ConfigWrite{Content: fmt.Sprintf("LOG_LEVEL: info-%d\n", w.Next()), BaseVersion: 1}}
	}},
	{"POST /api/v1/drafts/{id}/comments", inShop, onDraft(gatehouse.DraftOpen, "comments", map[string]string{"text": "looks fine"})},
	{"POST /api/v1/drafts/{id}/propose", shopAdmins, onDraft(gatehouse.DraftOpen, "propose", gatehouse.DraftPropose{})},
	{"POST /api/v1/drafts/{id}/approve", []string{"config-approver"}, onDraft(gatehouse.DraftProposed, "approve", gatehouse.Decision{Version: 1})},
	{"POST /api/v1/drafts/{id}/reject", []string{"config-approver"}, onDraft(gatehouse.DraftProposed, "reject", gatehouse.Decision{Comment: "no", Version: 1})},
	{"POST /api/v1/drafts/{id}/publish", shopAdmins, onDraft(gatehouse.DraftApproved, "publish", nil)},
	{"POST /api/v1/drafts/{id}/discard", shopAdmins, onDraft(gatehouse.DraftOpen, "discard", map[string]string{"reason": "not needed"})},
}
