package httpapi_test

import (
	"encoding/json"
	"fmt"

	"github.com/gatehousehq/gatehouse"
)

// The config part of the world: app api, whose prod configuration a config policy protects
// (one approval), with a config approver outside the matrix's roles; web's configuration stays unprotected.
const apiProd = "/api/v1/projects/shop/apps/api/environments/prod/config/configmap"

func (w *world) addConfig() {
	w.admin("POST", "/api/v1/projects/shop/apps", gatehouse.AppCreate{Name: "api"})
	// The matrix ends the roles' sessions; drafts are approved in setup by someone outside it,
	// given the role before the policy counts it.
	w.srv.Person("config-voter", "config-approver@project:shop")
	w.sessions["voter"] = w.login("config-voter")
	w.admin("POST", "/api/v1/policies", gatehouse.PolicySpec{Name: "config-gate", Kind: gatehouse.PolicyConfig,
		Scope: "project:shop/app:api/env:prod", Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}})
}

// clearDrafts discards api's open drafts, so a new one may open on any of its resources.
func (w *world) clearDrafts() {
	w.t.Helper()
	var open struct{ Items []gatehouse.Draft }
	if err := w.srv.Admin.Do(w.t.Context(), "GET", "/api/v1/drafts?app=api", nil, nil, &open); err != nil {
		w.t.Fatal(err)
	}
	for _, d := range open.Items {
		if d.State.Open() {
			w.admin("POST", fmt.Sprintf("/api/v1/drafts/%d/discard", d.ID), map[string]string{"reason": "matrix"})
		}
	}
}

// freshDraft opens a new draft on api's prod ConfigMap as the super-admin, after clearing the
// way, and moves it to state (draft, proposed or approved); it returns its id.
func (w *world) freshDraft(state gatehouse.DraftState) int64 {
	w.t.Helper()
	w.clearDrafts()
	var d gatehouse.Draft
	if err := w.srv.Admin.Do(w.t.Context(), "POST", apiProd+"/drafts", nil,
		gatehouse.ConfigWrite{Content: fmt.Sprintf("LOG_LEVEL: debug-%d\n", w.n.Add(1))}, &d); err != nil {
		w.t.Fatal(err)
	}
	if state == gatehouse.DraftOpen {
		return d.ID
	}
	w.admin("POST", fmt.Sprintf("/api/v1/drafts/%d/propose", d.ID), gatehouse.DraftPropose{})
	if state == gatehouse.DraftApproved {
		resp, body := w.raw(w.sessions["voter"], "POST", fmt.Sprintf("/api/v1/drafts/%d/approve", d.ID), gatehouse.Decision{Version: d.Version})
		if resp.StatusCode != 200 {
			w.t.Fatalf("approve draft %d: %d %s", d.ID, resp.StatusCode, body)
		}
		_ = json.Unmarshal(body, &d)
		if d.State != gatehouse.DraftApproved {
			w.t.Fatalf("draft %d is %s after its approval", d.ID, d.State)
		}
	}
	return d.ID
}

func onDraft(state gatehouse.DraftState, verb string, body any) func(*world, string) call {
	return func(w *world, _ string) call {
		return call{method: "POST", path: fmt.Sprintf("/api/v1/drafts/%d/%s", w.freshDraft(state), verb), body: body}
	}
}

var configEndpoints = []endpoint{
	{"GET /api/v1/projects/{project}/apps/{app}/config/values", inShop, staticCall("GET", "/api/v1/projects/shop/apps/web/config/values", nil)},
	{"PUT /api/v1/projects/{project}/apps/{app}/config/values", shopAdmins, func(w *world, _ string) call {
		return call{method: "PUT", path: "/api/v1/projects/shop/apps/web/config/values", body: gatehouse.ConfigWrite{Content: fmt.Sprintf("replicas: %d\n", w.n.Add(1))}}
	}},
	{"POST /api/v1/projects/{project}/apps/{app}/config/values/drafts", shopAdmins, func(w *world, _ string) call {
		w.clearDrafts()
		return call{method: "POST", path: "/api/v1/projects/shop/apps/api/config/values/drafts", body: gatehouse.ConfigWrite{Content: fmt.Sprintf("replicas: %d\n", 2+w.n.Add(1)%5)}}
	}},
	{"GET /api/v1/projects/{project}/apps/{app}/environments/{env}/config/{kind}", inShop, staticCall("GET", "/api/v1/projects/shop/apps/web/environments/prod/config/secrets", nil)},
	{"PUT /api/v1/projects/{project}/apps/{app}/environments/{env}/config/{kind}", shopAdmins, func(w *world, _ string) call {
		return call{method: "PUT", path: "/api/v1/projects/shop/apps/web/environments/dev/config/configmap", body: gatehouse.ConfigWrite{Content: fmt.Sprintf("N: \"%d\"\n", w.n.Add(1))}}
	}},
	{"POST /api/v1/projects/{project}/apps/{app}/environments/{env}/config/{kind}/drafts", shopAdmins, func(w *world, _ string) call {
		w.clearDrafts()
		return call{method: "POST", path: apiProd + "/drafts", body: gatehouse.ConfigWrite{Content: fmt.Sprintf("N: \"%d\"\n", w.n.Add(1))}}
	}},
	{"GET /api/v1/projects/{project}/apps/{app}/config-compare", inShop, staticCall("GET", "/api/v1/projects/shop/apps/web/config-compare?from=dev&to=prod", nil)},
	{"GET /api/v1/drafts", signedIn, staticCall("GET", "/api/v1/drafts", nil)},
	{"POST /api/v1/drafts", shopAdmins, func(w *world, _ string) call {
		w.clearDrafts()
		return call{method: "POST", path: "/api/v1/drafts", body: gatehouse.DraftCreate{
			DraftRef:    gatehouse.DraftRef{Kind: gatehouse.DraftConfigMap, Project: "shop", App: "api", Environment: "prod"},
			ConfigWrite: gatehouse.ConfigWrite{Content: fmt.Sprintf("N: \"%d\"\n", w.n.Add(1))}}}
	}},
	{"GET /api/v1/live", inShop, staticCall("GET", "/api/v1/live?kind=environment&project=shop&environment=prod", nil)},
	{"GET /api/v1/drafts/{id}", inShop, func(w *world, _ string) call {
		return call{method: "GET", path: fmt.Sprintf("/api/v1/drafts/%d", w.freshDraft(gatehouse.DraftOpen))}
	}},
	{"POST /api/v1/drafts/{id}/versions", shopAdmins, func(w *world, _ string) call {
		return call{method: "POST", path: fmt.Sprintf("/api/v1/drafts/%d/versions", w.freshDraft(gatehouse.DraftOpen)),
			body: gatehouse.ConfigWrite{Content: fmt.Sprintf("LOG_LEVEL: info-%d\n", w.n.Add(1)), BaseVersion: 1}}
	}},
	{"POST /api/v1/drafts/{id}/comments", inShop, onDraft(gatehouse.DraftOpen, "comments", map[string]string{"text": "looks fine"})},
	{"POST /api/v1/drafts/{id}/propose", shopAdmins, onDraft(gatehouse.DraftOpen, "propose", gatehouse.DraftPropose{})},
	{"POST /api/v1/drafts/{id}/approve", []string{"config-approver"}, onDraft(gatehouse.DraftProposed, "approve", gatehouse.Decision{Version: 1})},
	{"POST /api/v1/drafts/{id}/reject", []string{"config-approver"}, onDraft(gatehouse.DraftProposed, "reject", gatehouse.Decision{Comment: "no", Version: 1})},
	{"POST /api/v1/drafts/{id}/publish", shopAdmins, onDraft(gatehouse.DraftApproved, "publish", nil)},
	{"POST /api/v1/drafts/{id}/discard", shopAdmins, onDraft(gatehouse.DraftOpen, "discard", map[string]string{"reason": "not needed"})},
}
