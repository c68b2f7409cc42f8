package httpapi_test

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

// attempt is a change of what runs in prod, as the project's admins would try it.
type attempt struct {
	method, path string
	body         any
	want         string // what the refusal says
}

// route classifies one write route: either it cannot change what runs in a protected
// environment (and why not), or it can, and try is such a change that must be refused.
type bypassRoute struct {
	why string
	try func(w *world) attempt
	// as are the roles that try it (default: the project's admin and the super-admin).
	as []string
}

func cannot(why string) bypassRoute { return bypassRoute{why: why} }

func gatedBy(try func(w *world) attempt) bypassRoute { return bypassRoute{try: try} }

// gatedFor is a route only the super-admin may call at all, which still cannot use it to
// change what runs.
func gatedFor(try func(w *world) attempt) bypassRoute {
	return bypassRoute{try: try, as: []string{"super-admin"}}
}

const (
	webApp   = "/api/v1/projects/shop/apps/web"
	drafted  = "changes go through a draft"
	theBlock = "policy gate: needs 1 more approval"
)

// bypassRoutes is the bypass matrix, written by hand: every route that writes is here.
var bypassRoutes = map[string]bypassRoute{
	"POST /api/v1/session":                                                               cannot("signs a person in"),
	"POST /api/v1/tokens/login":                                                          cannot("signs a person in"),
	"DELETE /api/v1/session":                                                             cannot("signs out"),
	"PUT /api/v1/me/password":                                                            cannot("changes a password (and ends the person's sessions)"),
	"POST /api/v1/tokens":                                                                cannot("makes a token that acts as its maker, through every gate"),
	"DELETE /api/v1/tokens/{id}":                                                         cannot("revokes a token"),
	"POST /api/v1/users":                                                                 cannot("adds a user, who holds no role"),
	"POST /api/v1/users/{user}/tokens":                                                   cannot("makes a service account's token, which counts as its maker"),
	"POST /api/v1/groups":                                                                cannot("adds an empty group"),
	"DELETE /api/v1/groups/{group}":                                                      cannot("removes a group: fewer people may approve"),
	"DELETE /api/v1/groups/{group}/members/{user}":                                       cannot("changes who may approve, judged at every vote and again at deploy"),
	"DELETE /api/v1/rolebindings/{id}":                                                   cannot("removes a role"),
	"POST /api/v1/clusters":                                                              cannot("registers a cluster, once: the same cluster under a second name is refused, at registration or by the worker; placing a protected environment on it is gated"),
	"PATCH /api/v1/clusters/{cluster}":                                                   cannot("changes a cluster's credentials, never the cluster its environments reach (worker tests)"),
	"DELETE /api/v1/clusters/{cluster}":                                                  cannot("refused while an environment uses the cluster"),
	"POST /api/v1/projects":                                                              cannot("adds an empty project"),
	"PATCH /api/v1/projects/{project}":                                                   cannot("changes a description"),
	"DELETE /api/v1/projects/{project}":                                                  cannot("refused while the project has apps or environments"),
	"DELETE /api/v1/projects/{project}/environments/{env}":                               cannot("refused while a stage or a deployment uses the environment"),
	"POST /api/v1/projects/{project}/apps":                                               cannot("a new app reaches a protected environment only through a pipeline draft and the image gate"),
	"DELETE /api/v1/projects/{project}/apps/{app}":                                       cannot("refused once the app has deployments"),
	"POST /api/v1/projects/{project}/apps/{app}/artifacts":                               cannot("pushing deploys nothing past a gate"),
	"PATCH /api/v1/projects/{project}/apps/{app}/artifacts/{digest}":                     cannot("moves tags (a deploy names a digest) and notes, which no policy reads"),
	"DELETE /api/v1/projects/{project}/apps/{app}/artifacts/{digest}":                    cannot("retracting only stops an artifact"),
	"POST /api/v1/policies":                                                              cannot("a new policy only adds requirements"),
	"POST /api/v1/projects/{project}/apps/{app}/approvals":                               cannot("asks the image gate; deploys nothing"),
	"POST /api/v1/approvals/{id}/approve":                                                cannot("a vote of the image ballot, by a person who may approve"),
	"POST /api/v1/approvals/{id}/reject":                                                 cannot("a vote of the image ballot"),
	"POST /api/v1/approvals/{id}/cancel":                                                 cannot("ends a request"),
	"POST /api/v1/projects/{project}/webhooks":                                           cannot("notifications"),
	"DELETE /api/v1/projects/{project}/webhooks/{id}":                                    cannot("notifications"),
	"POST /api/v1/audit/verify":                                                          cannot("reads the trail"),
	"POST /api/v1/audit/checkpoint":                                                      cannot("signs the trail's head"),
	"POST /api/v1/drafts":                                                                cannot("a draft changes nothing until it is published"),
	"POST /api/v1/projects/{project}/apps/{app}/config/values/drafts":                    cannot("a draft changes nothing until it is published"),
	"POST /api/v1/projects/{project}/apps/{app}/environments/{env}/config/{kind}/drafts": cannot("a draft changes nothing until it is published"),
	"POST /api/v1/drafts/{id}/versions":                                                  cannot("a new version needs approval again"),
	"POST /api/v1/drafts/{id}/comments":                                                  cannot("a remark"),
	"POST /api/v1/drafts/{id}/propose":                                                   cannot("asks for approval"),
	"POST /api/v1/drafts/{id}/approve":                                                   cannot("a vote of the draft's ballot, for the version the voter reviewed"),
	"POST /api/v1/drafts/{id}/reject":                                                    cannot("a vote of the draft's ballot"),
	"POST /api/v1/drafts/{id}/discard":                                                   cannot("ends a draft"),
	"POST /api/v1/reviews/{id}/acknowledge":                                              cannot("acknowledges a break-glass deployment after the fact"),

	"POST /api/v1/projects/{project}/environments": gatedBy(func(w *world) attempt {
		return attempt{"POST", "/api/v1/projects/shop/environments", gatehouse.EnvironmentCreate{Name: w.Unique("e"), Cluster: "c1", Namespace: "shop-prod"},
			"was used by environment shop/prod"}
	}),
	"PATCH /api/v1/projects/{project}/environments/{env}": gatedBy(func(w *world) attempt {
		return attempt{"PATCH", "/api/v1/projects/shop/environments/prod", map[string]string{"namespace": w.Unique("ns")}, drafted}
	}),
	"PATCH /api/v1/projects/{project}/apps/{app}": gatedBy(func(w *world) attempt {
		return attempt{"PATCH", webApp, gatehouse.AppUpdate{Chart: &gatehouse.Chart{Source: gatehouse.ChartDirectory, Path: "/srv/" + w.Unique("chart")}}, drafted}
	}),
	"PUT /api/v1/projects/{project}/apps/{app}/pipeline": gatedBy(func(*world) attempt {
		return attempt{"PUT", webApp + "/pipeline", gatehouse.PipelineSet{Stages: []gatehouse.Stage{{Environment: "dev"},
			{Environment: "prod", After: "dev", Trigger: gatehouse.TriggerAuto}}}, drafted}
	}),
	"PUT /api/v1/projects/{project}/apps/{app}/overrides/{env}": gatedBy(func(w *world) attempt {
		return attempt{"PUT", "/api/v1/projects/shop/apps/api/overrides/prod", map[string]string{"values": fmt.Sprintf("replicas: %d\n", w.Next())}, drafted}
	}),
	"PUT /api/v1/projects/{project}/apps/{app}/config/values": gatedBy(func(w *world) attempt {
		return attempt{"PUT", "/api/v1/projects/shop/apps/api/config/values", gatehouse.ConfigWrite{Content: fmt.Sprintf("replicas: %d\n", w.Next())}, drafted}
	}),
	"PUT /api/v1/projects/{project}/apps/{app}/environments/{env}/config/{kind}": gatedBy(func(w *world) attempt {
		return attempt{"PUT", apiProd, gatehouse.ConfigWrite{Content: fmt.Sprintf("N: \"%d\"\n", w.Next())}, drafted}
	}),
	"POST /api/v1/projects/{project}/apps/{app}/deployments": gatedBy(func(*world) attempt {
		return attempt{"POST", webApp + "/deployments", gatehouse.DeploymentCreate{Environment: "prod", Digest: digest1}, theBlock}
	}),
	"POST /api/v1/projects/{project}/apps/{app}/deployments/{id}/rollback": gatedBy(func(*world) attempt {
		return attempt{"POST", webApp + "/deployments/2/rollback", nil, theBlock}
	}),
	"PUT /api/v1/policies/{name}": gatedBy(func(*world) attempt {
		return attempt{"PUT", "/api/v1/policies/gate", gatehouse.PolicySpec{Scope: "project:shop/env:prod", RequesterMayApprove: true,
			Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}}, drafted}
	}),
	"DELETE /api/v1/policies/{name}": gatedBy(func(*world) attempt {
		return attempt{"DELETE", "/api/v1/policies/gate", nil, drafted}
	}),
	// prod may be deployed to in its nightly maintenance window only: a second window beside
	// it, a longer one, or none, opens prod at times it was closed.
	"POST /api/v1/windows": gatedBy(func(w *world) attempt {
		return attempt{"POST", "/api/v1/windows", nightly(w.Unique("noon"), "FREQ=DAILY;BYHOUR=12", "1h"), drafted}
	}),
	"PUT /api/v1/windows/{name}": gatedBy(func(*world) attempt {
		return attempt{"PUT", "/api/v1/windows/nightly", nightly("nightly", "FREQ=DAILY;BYHOUR=2", "2h"), drafted}
	}),
	"DELETE /api/v1/windows/{name}": gatedBy(func(*world) attempt {
		return attempt{"DELETE", "/api/v1/windows/nightly", nil, drafted}
	}),
	// Who may vote decides what passes: a vote where a policy counts it is given through an
	// access draft, and no administrator takes over the credentials of a person who votes.
	"POST /api/v1/rolebindings": gatedFor(func(w *world) attempt {
		return attempt{"POST", "/api/v1/rolebindings", gatehouse.RoleBindingCreate{User: testserver.UserOf("viewer"), Role: gatehouse.RoleImageApprover,
			Scope: "project:shop/env:prod"}, drafted}
	}),
	"PUT /api/v1/groups/{group}/members/{user}": gatedFor(func(w *world) attempt {
		return attempt{"PUT", "/api/v1/groups/prod-approvers/members/" + testserver.UserOf("viewer"), nil, drafted}
	}),
	"PATCH /api/v1/users/{user}": gatedFor(func(w *world) attempt {
		return attempt{"PATCH", "/api/v1/users/" + testserver.UserOf("image-approver"), map[string]string{"email": w.Unique("x") + "@example.com"},
			"votes where policies reach"}
	}),
	"POST /api/v1/drafts/{id}/publish": gatedBy(func(w *world) attempt {
		return attempt{"POST", fmt.Sprintf("/api/v1/drafts/%d/publish", w.FreshDraft(gatehouse.DraftProposed)), nil, "is proposed"}
	}),
}

// TestNoWayAroundTheGate is the bypass matrix: every write route of the server is classified
// (the test fails on a new one that is not), and every route that can change what runs in a
// protected environment refuses such a change from the project's admins and the super-admin
// alike, naming the gate, with nothing changed (the trail does not grow).
func TestNoWayAroundTheGate(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		w := newWorld(t, engine)
		w.addConfig()
		// prod's deployment 2 succeeded before prod was gated: rolling back to it is not pre-approved.
		if _, err := w.DB.Raw().Exec(`UPDATE deployments SET state = 'succeeded' WHERE id = 2`); err != nil {
			t.Fatal(err)
		}
		// prod moved once, through a draft its approvers approved (web's image gate and api's
		// config gate both judge where prod runs): its old namespace stays its own.
		var d gatehouse.Draft
		if err := w.Admin.Do(t.Context(), "POST", "/api/v1/drafts", nil, gatehouse.DraftCreate{DraftRef: gatehouse.DraftRef{Kind: gatehouse.DraftEnvironment,
			Project: "shop", Environment: "prod"}, ConfigWrite: gatehouse.ConfigWrite{Content: "cluster: c1\nnamespace: shop-prod-2\n"}}, &d); err != nil {
			t.Fatal(err)
		}
		w.Do("POST", fmt.Sprintf("/api/v1/drafts/%d/propose", d.ID), gatehouse.DraftPropose{})
		for _, s := range []string{"image-approver", "voter"} {
			if resp, body := w.raw(w.sessions[s], "POST", fmt.Sprintf("/api/v1/drafts/%d/approve", d.ID), gatehouse.Decision{Version: 1}); resp.StatusCode != 200 {
				t.Fatalf("approve the move as %s: %d %s", s, resp.StatusCode, body)
			}
		}
		w.Do("POST", fmt.Sprintf("/api/v1/drafts/%d/publish", d.ID), nil)
		// A group whose members approve prod's images (it has none yet, so binding it gave
		// nobody a vote).
		w.Do("POST", "/api/v1/groups", gatehouse.GroupCreate{Name: "prod-approvers"})
		w.Do("POST", "/api/v1/rolebindings", gatehouse.RoleBindingCreate{Group: "prod-approvers", Role: gatehouse.RoleImageApprover, Scope: "project:shop/env:prod"})

		w.Do("POST", "/api/v1/windows", nightly("nightly", "FREQ=DAILY;BYHOUR=2", "1h"))

		var writes []string
		for _, r := range w.API.Routes() {
			if !strings.HasPrefix(r, "GET ") {
				writes = append(writes, r)
			}
		}
		// Each write route says whether it can change what runs in a protected environment.
		testserver.Covered(t, "bypass matrix", writes, slices.Collect(maps.Keys(bypassRoutes)))
		gated := 0
		for _, route := range writes {
			b := bypassRoutes[route]
			if b.try == nil {
				continue
			}
			gated++
			as := b.as
			if as == nil {
				as = []string{"admin", "super-admin"}
			}
			for _, role := range as {
				a := b.try(w)
				before := w.AuditCount()
				resp, body := w.raw(w.sessions[role], a.method, a.path, a.body)
				if resp.StatusCode != http.StatusPreconditionFailed || !strings.Contains(string(body), a.want) {
					t.Errorf("%s %s as %s: %d %.300s; want 412 saying %q", a.method, a.path, role, resp.StatusCode, body, a.want)
				}
				if w.AuditCount() != before {
					t.Errorf("%s %s as %s was refused, yet the trail grew", a.method, a.path, role)
				}
			}
		}
		if gated < 10 {
			t.Fatalf("only %d routes were shown gated", gated)
		}
	})
}

// nightly is a maintenance window of prod.
func nightly(name, rule, length string) gatehouse.WindowSpec {
	return gatehouse.WindowSpec{Name: name, Kind: gatehouse.WindowAllow, Scope: "project:shop/env:prod", TimeZone: "Europe/Berlin", RRule: rule, Duration: length}
}
