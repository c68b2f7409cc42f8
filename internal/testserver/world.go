package testserver

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/client"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// Roles are the roles of the access matrices, the API's (package httpapi) and the pages'
// (package ui): everyone bound on project:shop, but super-admin (on "*"), "nobody" (signed
// in, no bindings) and "anonymous" (no credentials).
var Roles = []string{"anonymous", "nobody", "viewer", "deployer", "image-approver", "config-approver", "admin", "access-manager", "super-admin"}

// Who may do what in the matrices' world, written out by hand from the role definitions (not
// derived from the code under test).
var (
	Everyone        = Roles
	SignedIn        = Roles[1:]
	InShop          = []string{"viewer", "deployer", "image-approver", "config-approver", "admin", "access-manager", "super-admin"}
	ShopAdmins      = []string{"admin", "super-admin"}
	SuperAdmins     = []string{"super-admin"}
	Pushers         = []string{"deployer", "admin", "super-admin"}
	Grantors        = []string{"access-manager", "super-admin"}
	Directory       = []string{"admin", "access-manager", "super-admin"} // see every user and group
	ImageApprovers  = []string{"image-approver"}
	ConfigApprovers = []string{"config-approver"}
)

// UserOf names the user who holds a role in the matrices.
func UserOf(role string) string { return "as-" + role }

// Digest1 is the artifact of app web that the world deploys.
const Digest1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"

// Digest returns a made-up image digest, different for each n.
func Digest(n int64) string { return fmt.Sprintf("sha256:%064x", n) }

// ConfigVoter is the config approver outside the matrices' roles who approves drafts in setups
// (the matrices end the roles' sessions).
const ConfigVoter = "config-voter"

// APIProdConfigMap is the API path of app api's prod ConfigMap, which a config policy protects
// once AddConfig ran.
const APIProdConfigMap = "/api/v1/projects/shop/apps/api/environments/prod/config/configmap"

// World is the access matrices' world: a server with project shop (cluster c1, environments
// dev and prod, app web with the pipeline dev → prod and artifact Digest1 deployed to both:
// deployment 1, on dev, succeeded), image policy gate on prod with approval request 1 waiting
// there, policy spare (reaching nothing), a service account ci, a user loginuser and a group
// sre bound nowhere, and one user per role (UserOf) but anonymous.
type World struct {
	*Server
	tb     testing.TB
	n      atomic.Int64
	people map[string]*client.Client // sign-in tokens of the roles' users and ConfigVoter
}

// Breaker is the world's person who holds break-glass in project shop.
const Breaker = "breaker"

// StartWorld starts a server on a fresh database of the engine and builds the world in it.
func StartWorld(tb testing.TB, engine string) *World {
	tb.Helper()
	w := &World{Server: Start(tb, engine), tb: tb, people: map[string]*client.Client{}}
	w.Do("POST", "/api/v1/projects", gatehouse.ProjectCreate{Name: "shop"})
	w.Do("POST", "/api/v1/clusters", gatehouse.ClusterCreate{Name: "c1", Kubeconfig: gatehouse.OutgoingSecret(testdb.Kubeconfig)})
	for _, e := range []string{"dev", "prod"} {
		w.Do("POST", "/api/v1/projects/shop/environments", gatehouse.EnvironmentCreate{Name: e, Cluster: "c1", Namespace: "shop-" + e})
	}
	w.Do("POST", "/api/v1/projects/shop/apps", gatehouse.AppCreate{Name: "web"})
	w.Do("PUT", "/api/v1/projects/shop/apps/web/pipeline", gatehouse.PipelineSet{Stages: []gatehouse.Stage{{Environment: "dev"}, {Environment: "prod", After: "dev"}}})
	w.Do("POST", "/api/v1/projects/shop/apps/web/artifacts", gatehouse.ArtifactCreate{Image: "r.example.com/web@" + Digest1})
	for _, env := range []string{"dev", "prod"} {
		w.Do("POST", "/api/v1/projects/shop/apps/web/deployments", gatehouse.DeploymentCreate{Environment: env, Digest: Digest1})
	}
	// No worker runs here: mark the first deployment done so it can be rolled back to.
	if _, err := w.DB.Raw().Exec(`UPDATE deployments SET state = 'succeeded' WHERE id = 1`); err != nil {
		tb.Fatal(err)
	}
	// People get their roles before prod is gated: once it is, a role that votes there is
	// given only through an access draft.
	for _, role := range Roles[1:] {
		switch role {
		case "nobody":
			w.people[role] = w.Person(UserOf(role))
		case "super-admin":
			w.people[role] = w.Person(UserOf(role), "super-admin@*")
		default:
			w.people[role] = w.Person(UserOf(role), role+"@project:shop")
		}
	}
	w.people[Breaker] = w.Person(Breaker, "deployer@project:shop", "break-glass@project:shop")
	// prod is gated; approval request 1 waits there.
	w.Do("POST", "/api/v1/policies", gatehouse.PolicySpec{Name: "gate", Scope: "project:shop/env:prod", Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}})
	w.Do("POST", "/api/v1/policies", gatehouse.PolicySpec{Name: "spare", Scope: "project:shop/env:nowhere", Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}})
	w.Do("POST", "/api/v1/projects/shop/apps/web/approvals", gatehouse.ApprovalCreate{Environment: "prod", Digest: Digest1})
	// Deployment 3 went to prod past the gate with break-glass: review 1 waits for gate's
	// approvers.
	w.BreakGlass(Digest1)
	w.Do("POST", "/api/v1/users", gatehouse.UserCreate{Name: "ci", Kind: gatehouse.ServiceAccount})
	w.Do("POST", "/api/v1/users", gatehouse.UserCreate{Name: "loginuser", Password: gatehouse.OutgoingSecret(Password)})
	w.Do("POST", "/api/v1/groups", gatehouse.GroupCreate{Name: "sre"})
	return w
}

// AddConfig adds the world's configuration part: app api, whose prod configuration the config
// policy config-gate protects (one approval), and ConfigVoter; web's configuration stays
// unprotected.
func (w *World) AddConfig() {
	w.tb.Helper()
	w.Do("POST", "/api/v1/projects/shop/apps", gatehouse.AppCreate{Name: "api"})
	// The voter gets the role before the policy counts it.
	w.people[ConfigVoter] = w.Person(ConfigVoter, "config-approver@project:shop")
	w.Do("POST", "/api/v1/policies", gatehouse.PolicySpec{Name: "config-gate", Kind: gatehouse.PolicyConfig,
		Scope: "project:shop/app:api/env:prod", Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}})
}

// Do makes one API call as the super-admin, failing the test when it is refused.
func (w *World) Do(method, path string, body any) {
	w.tb.Helper()
	if err := w.Admin.Do(context.Background(), method, path, nil, body, nil); err != nil {
		w.tb.Fatalf("setup %s %s: %v", method, path, err)
	}
}

// As returns an API client of the role's user (by its sign-in token; nil for anonymous).
func (w *World) As(role string) *client.Client { return w.people[role] }

// Next returns a number not returned before.
func (w *World) Next() int64 { return w.n.Add(1) }

// Unique returns a name not returned before.
func (w *World) Unique(prefix string) string { return fmt.Sprintf("%s-%d", prefix, w.Next()) }

// BreakGlass deploys the digest of app web to prod as Breaker, with break-glass, and returns
// the review it opened.
func (w *World) BreakGlass(digest string) int64 {
	w.tb.Helper()
	ctx := context.Background()
	if err := w.people[Breaker].Do(ctx, "POST", "/api/v1/projects/shop/apps/web/deployments", nil,
		gatehouse.DeploymentCreate{Environment: "prod", Digest: digest, BreakGlass: "the world's emergency, for the matrices"}, nil); err != nil {
		w.tb.Fatalf("break-glass deployment: %v", err)
	}
	var open struct{ Items []gatehouse.Review }
	if err := w.Admin.Do(ctx, "GET", "/api/v1/reviews", url.Values{"limit": {"1"}}, nil, &open); err != nil || len(open.Items) != 1 {
		w.tb.Fatalf("the review of the break-glass deployment: %v", err)
	}
	return open.Items[0].ID
}

// Push pushes a new artifact of app web as the super-admin and returns its digest.
func (w *World) Push() string {
	w.tb.Helper()
	d := Digest(9000 + w.Next())
	w.Do("POST", "/api/v1/projects/shop/apps/web/artifacts", gatehouse.ArtifactCreate{Image: "r.example.com/web@" + d})
	return d
}

// OpenRequest pushes a new artifact and raises an approval request for it on prod, as the
// role's user when it may request and as the super-admin's otherwise; it returns the request.
func (w *World) OpenRequest(role string) int64 {
	w.tb.Helper()
	d := w.Push()
	c := w.people["super-admin"]
	if slices.Contains(Pushers, role) {
		c = w.people[role]
	}
	var r gatehouse.ApprovalRequest
	if err := c.Do(context.Background(), "POST", "/api/v1/projects/shop/apps/web/approvals", nil, gatehouse.ApprovalCreate{Environment: "prod", Digest: d}, &r); err != nil {
		w.tb.Fatalf("open request as %s: %v", role, err)
	}
	return r.ID
}

// ClearDrafts discards api's open drafts, so a new one may open on any of its resources.
func (w *World) ClearDrafts() {
	w.tb.Helper()
	// State by state: the closed drafts pile up as the matrices run, and listing them all
	// each time took half of a matrix's time.
	for _, state := range gatehouse.DraftStates {
		if !state.Open() {
			continue
		}
		var open struct{ Items []gatehouse.Draft }
		if err := w.Admin.Do(context.Background(), "GET", "/api/v1/drafts?app=api&state="+string(state), nil, nil, &open); err != nil {
			w.tb.Fatal(err)
		}
		for _, d := range open.Items {
			w.Do("POST", fmt.Sprintf("/api/v1/drafts/%d/discard", d.ID), map[string]string{"reason": "matrix"})
		}
	}
}

// FreshDraft opens a new draft on api's prod ConfigMap as the super-admin (AddConfig must have
// run), after clearing the way, and moves it to state (draft, proposed or approved, by
// ConfigVoter's vote); it returns its id.
func (w *World) FreshDraft(state gatehouse.DraftState) int64 {
	w.tb.Helper()
	w.ClearDrafts()
	ctx := context.Background()
	var d gatehouse.Draft
	if err := w.Admin.Do(ctx, "POST", APIProdConfigMap+"/drafts", nil,
		gatehouse.ConfigWrite{Content: fmt.Sprintf("LOG_LEVEL: debug-%d\n", w.Next())}, &d); err != nil {
		w.tb.Fatal(err)
	}
	if state == gatehouse.DraftOpen {
		return d.ID
	}
	w.Do("POST", fmt.Sprintf("/api/v1/drafts/%d/propose", d.ID), gatehouse.DraftPropose{})
	if state == gatehouse.DraftApproved {
		if err := w.people[ConfigVoter].Do(ctx, "POST", fmt.Sprintf("/api/v1/drafts/%d/approve", d.ID), nil, gatehouse.Decision{Version: d.Version}, &d); err != nil {
			w.tb.Fatalf("approve draft %d: %v", d.ID, err)
		}
		if d.State != gatehouse.DraftApproved {
			w.tb.Fatalf("draft %d is %s after its approval", d.ID, d.State)
		}
	}
	return d.ID
}

// AuditCount is the number of audit events but sign-ins and sign-outs.
func (w *World) AuditCount() int {
	w.tb.Helper()
	var n int
	if err := w.DB.Raw().QueryRow(`SELECT COUNT(*) FROM audit_events WHERE action NOT LIKE 'auth.%'`).Scan(&n); err != nil {
		w.tb.Fatal(err)
	}
	return n
}

// Covered fails the test for every route the server serves that the matrix names no entry
// for, every entry that names no route served, and every route the matrix names twice: a new
// route cannot be served before someone says who may use it.
func Covered(tb testing.TB, matrix string, routes, entries []string) {
	tb.Helper()
	for _, r := range routes {
		if !slices.Contains(entries, r) {
			tb.Errorf("route %q is missing from the %s", r, matrix)
		}
	}
	seen := map[string]bool{}
	for _, e := range entries {
		switch {
		case !slices.Contains(routes, e):
			tb.Errorf("the %s names %q, which the server does not serve", matrix, e)
		case seen[e]:
			tb.Errorf("the %s names %q twice", matrix, e)
		}
		seen[e] = true
	}
}
