package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

const (
	web = "/ui/projects/shop/apps/web"
	api = "/ui/projects/shop/apps/api"
)

type vals = url.Values

// onDraft posts the form to a fresh draft of api's prod ConfigMap in the state.
func onDraft(state gatehouse.DraftState, verb string, f vals) func(*pageWorld, string) request {
	return func(w *pageWorld, role string) request {
		return w.postAs(role, fmt.Sprintf("/ui/drafts/%d/%s", w.FreshDraft(state), verb), f)
	}
}

// onRequest posts the form of a verb to a fresh approval request of the role (see
// testserver.World.OpenRequest).
func onRequest(verb string, f vals) func(*pageWorld, string) request {
	return func(w *pageWorld, role string) request {
		return w.postAs(role, fmt.Sprintf("/ui/approvals/%d/%s", w.OpenRequest(role), verb), f)
	}
}

// vote opens an approve link the role's user got for a fresh ballot, as the mail's reader
// does, and posts its form; where the link shows no form, the browser forges a consistent one.
func vote(flow gatehouse.BallotFlow) func(*pageWorld, string) request {
	return func(w *pageWorld, role string) request {
		var id int64
		if flow == gatehouse.FlowRequest {
			id = w.OpenRequest("super-admin")
		} else {
			id = w.FreshDraft(gatehouse.DraftProposed)
		}
		link := w.link(flow, id, role)
		b := w.browsers[role]
		csrf := "forged-" + w.Unique("csrf")
		if resp, body := w.getAs(role, link)(); resp.StatusCode == http.StatusOK {
			csrf = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(body)[1]
		} else {
			u, _ := url.Parse(b.base + "/approve/")
			b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "gatehouse_link_csrf", Value: csrf, Path: "/approve/"}})
		}
		return func() (*http.Response, string) {
			return b.send(link, vals{"decision": {"approve"}, "csrf_token": {csrf}, "version": {"1"}})
		}
	}
}

// pageRoutes is the pages' access matrix, written out by hand from the role definitions (not
// derived from the code under test). Every route the server mounts must appear here.
var pageRoutes = []pageRoute{
	{"GET /{$}", "", testserver.Everyone, page("/")},
	{"GET /ui/static/", "", testserver.Everyone, page("/ui/static/app.css")},
	{"GET /ui/login", "", testserver.Everyone, page("/ui/login")},
	{"POST /ui/login", "in a new browser", testserver.Everyone, func(w *pageWorld, _ string) request {
		b := newPageClient(w.t, w.Server, nil)
		_, body := b.get("/ui/login")
		f := vals{"username": {"loginuser"}, "password": {testserver.Password}, "login_token": {field(w.t, body, "login_token")}}
		return func() (*http.Response, string) { return b.send("/ui/login", f) }
	}},
	{"POST /ui/logout", "", testserver.SignedIn, func(w *pageWorld, role string) request {
		b := w.signIn(role) // a session of its own: the form ends it
		return func() (*http.Response, string) { return b.post("/ui/logout", nil) }
	}},
	// The matrix's server offers no single sign-on: these say so to everyone (sso_test.go
	// walks them with a provider).
	{"GET /ui/sso/start", "", nil, page("/ui/sso/start")},
	{"GET /ui/sso/callback", "", nil, page("/ui/sso/callback?state=x&code=y")},

	{"GET /ui/{$}", "", testserver.SignedIn, page("/ui/")},
	{"GET /ui/projects/{project}/apps/{app}", "", testserver.InShop, page(web)},

	{"GET /ui/approvals", "", testserver.SignedIn, page("/ui/approvals")},
	{"GET /ui/approvals/{id}", "", testserver.InShop, page("/ui/approvals/1")},
	{"GET /ui/reviews/{id}", "", testserver.InShop, page("/ui/reviews/1")},
	{"POST /ui/reviews/{id}/acknowledge", "", testserver.ImageApprovers, func(w *pageWorld, role string) request {
		return w.postAs(role, fmt.Sprintf("/ui/reviews/%d/acknowledge", w.BreakGlass(w.Push())), vals{"comment": {"seen the incident"}})
	}},
	{"POST /ui/approvals/{id}/{verb}", "approve", testserver.ImageApprovers, onRequest("approve", nil)},
	{"POST /ui/approvals/{id}/{verb}", "reject", testserver.ImageApprovers, onRequest("reject", vals{"comment": {"no"}})},
	{"POST /ui/approvals/{id}/{verb}", "cancel", testserver.Pushers, onRequest("cancel", nil)},

	{"GET /ui/projects/{project}/apps/{app}/deploy", "", testserver.InShop, page(web + "/deploy?env=prod&digest=" + testserver.Digest1)},
	{"POST /ui/projects/{project}/apps/{app}/deploy", "deploy", testserver.Pushers, form(web+"/deploy", vals{"env": {"dev"}, "digest": {testserver.Digest1}})},
	{"POST /ui/projects/{project}/apps/{app}/deploy", "request approval", testserver.Pushers, func(w *pageWorld, role string) request {
		return w.postAs(role, web+"/deploy", vals{"action": {"request"}, "env": {"prod"}, "digest": {w.Push()}, "comment": {"please"}})
	}},
	{"GET /ui/projects/{project}/apps/{app}/deployments/{id}", "", testserver.InShop, page(web + "/deployments/1")},
	{"GET /ui/projects/{project}/apps/{app}/deployments/{id}/events", "", testserver.InShop, page(web + "/deployments/1/events")},

	{"GET /ui/projects/{project}/apps/{app}/config", "", testserver.InShop, page(web + "/config")},
	{"GET /ui/projects/{project}/apps/{app}/config/compare", "", testserver.InShop, page(web + "/config/compare?from=dev&to=prod")},
	{"GET /ui/projects/{project}/apps/{app}/config/edit", "", testserver.InShop, page(api + "/config/edit?kind=configmap&env=prod")},
	{"POST /ui/projects/{project}/apps/{app}/config/edit", "direct", testserver.ShopAdmins, func(w *pageWorld, role string) request {
		return w.postAs(role, web+"/config/edit", vals{"kind": {"values"}, "content": {fmt.Sprintf("replicas: %d\n", w.Next())}})
	}},
	{"POST /ui/projects/{project}/apps/{app}/config/edit", "draft", testserver.ShopAdmins, func(w *pageWorld, role string) request {
		w.ClearDrafts()
		return w.postAs(role, api+"/config/edit", vals{"kind": {"configmap"}, "env": {"prod"}, "content": {fmt.Sprintf("N: \"%d\"\n", w.Next())}})
	}},

	{"GET /ui/drafts", "", testserver.SignedIn, page("/ui/drafts")},
	{"GET /ui/drafts/{id}", "", testserver.InShop, func(w *pageWorld, role string) request {
		return w.getAs(role, fmt.Sprintf("/ui/drafts/%d", w.FreshDraft(gatehouse.DraftOpen)))
	}},
	{"POST /ui/drafts/{id}/comment", "", testserver.InShop, onDraft(gatehouse.DraftOpen, "comment", vals{"text": {"looks fine"}})},
	{"POST /ui/drafts/{id}/edit", "", testserver.ShopAdmins, func(w *pageWorld, role string) request {
		return onDraft(gatehouse.DraftOpen, "edit", vals{"base_version": {"1"}, "content": {fmt.Sprintf("LOG_LEVEL: info-%d\n", w.Next())}})(w, role)
	}},
	{"POST /ui/drafts/{id}/propose", "", testserver.ShopAdmins, onDraft(gatehouse.DraftOpen, "propose", nil)},
	{"POST /ui/drafts/{id}/approve", "", testserver.ConfigApprovers, onDraft(gatehouse.DraftProposed, "approve", vals{"version": {"1"}})},
	{"POST /ui/drafts/{id}/reject", "", testserver.ConfigApprovers, onDraft(gatehouse.DraftProposed, "reject", vals{"version": {"1"}, "comment": {"no"}})},
	{"POST /ui/drafts/{id}/publish", "", testserver.ShopAdmins, onDraft(gatehouse.DraftApproved, "publish", nil)},
	{"POST /ui/drafts/{id}/discard", "", testserver.ShopAdmins, onDraft(gatehouse.DraftOpen, "discard", vals{"reason": {"not needed"}})},

	{"GET /ui/projects/{project}/apps/{app}/history", "", testserver.InShop, page(web + "/history")},
	{"GET /ui/projects/{project}/apps/{app}/history/compare", "", testserver.InShop, page(web + "/history/compare?from=1&to=2")},
	{"GET /ui/projects/{project}/apps/{app}/deployments/{id}/rollback", "", testserver.InShop, page(web + "/deployments/1/rollback")},
	{"POST /ui/projects/{project}/apps/{app}/deployments/{id}/rollback", "", testserver.Pushers, form(web+"/deployments/1/rollback", nil)},
	// Delivery metrics count what the person sees: everyone in the project reads them.
	{"GET /ui/projects/{project}/metrics", "", testserver.InShop, page("/ui/projects/shop/metrics?since=7d")},
	{"GET /ui/projects/{project}/apps/{app}/metrics", "", testserver.InShop, page(web + "/metrics?environment=prod")},

	{"GET /ui/audit", "", testserver.ShopAdmins, page("/ui/audit?project=shop")},
	{"POST /ui/audit/verify", "", testserver.SuperAdmins, form("/ui/audit/verify", nil)},

	{"GET /ui/access", "", testserver.SignedIn, page("/ui/access")},
	{"POST /ui/access/bindings", "", testserver.Grantors, func(w *pageWorld, role string) request {
		u := w.Unique("grantee")
		w.Do("POST", "/api/v1/users", gatehouse.UserCreate{Name: u, Kind: gatehouse.ServiceAccount})
		return w.postAs(role, "/ui/access/bindings", vals{"subject": {"user:" + u}, "role": {"access-manager"}, "project": {"shop"}})
	}},
	{"POST /ui/access/bindings/{id}/delete", "", testserver.Grantors, func(w *pageWorld, role string) request {
		u := w.Unique("grantee")
		w.Do("POST", "/api/v1/users", gatehouse.UserCreate{Name: u, Kind: gatehouse.ServiceAccount})
		var b gatehouse.RoleBinding
		w.Must(w.Admin.Do(context.Background(), "POST", "/api/v1/rolebindings", nil, gatehouse.RoleBindingCreate{User: u, Role: gatehouse.RoleAccessManager, Scope: "project:shop"}, &b))
		return w.postAs(role, fmt.Sprintf("/ui/access/bindings/%d/delete", b.ID), nil)
	}},
	{"GET /ui/access/tokens", "", testserver.SignedIn, page("/ui/access/tokens")},
	{"POST /ui/access/tokens", "", testserver.SignedIn, form("/ui/access/tokens", vals{"name": {"laptop"}})},
	{"POST /ui/access/tokens/{id}/revoke", "own token", testserver.SignedIn, func(w *pageWorld, role string) request {
		owner := w.As(role)
		if owner == nil {
			owner = w.As("super-admin")
		}
		var tok gatehouse.NewToken
		w.Must(owner.Do(context.Background(), "POST", "/api/v1/tokens", nil, gatehouse.TokenCreate{Name: "victim"}, &tok))
		return w.postAs(role, fmt.Sprintf("/ui/access/tokens/%d/revoke", tok.ID), nil)
	}},

	// An approve link acts for the person it was sent to, whoever's browser holds it: opening
	// it shows the ballot to whoever may see it; only an approver's vote counts.
	{"GET /approve/{token}", "request", testserver.InShop, func(w *pageWorld, role string) request {
		return w.getAs(role, w.link(gatehouse.FlowRequest, 1, role))
	}},
	{"GET /approve/{token}", "draft", testserver.InShop, func(w *pageWorld, role string) request {
		return w.getAs(role, w.link(gatehouse.FlowDraft, w.FreshDraft(gatehouse.DraftProposed), role))
	}},
	{"POST /approve/{token}", "request", testserver.ImageApprovers, vote(gatehouse.FlowRequest)},
	{"POST /approve/{token}", "draft", testserver.ConfigApprovers, vote(gatehouse.FlowDraft)},

	// The metrics carry their own credential, the metrics token: a session is not one, and
	// the token serves whoever holds it, signed in or not.
	{"GET /metrics", "with a session only", nil, page("/metrics")},
	{"GET /metrics", "with the metrics token", testserver.Everyone, func(w *pageWorld, role string) request {
		return w.bearerAs(role, "/metrics", testserver.MetricsToken)
	}},
	{"GET /metrics", "with a wrong token", nil, func(w *pageWorld, role string) request {
		return w.bearerAs(role, "/metrics", testserver.MetricsToken+"x")
	}},
}
