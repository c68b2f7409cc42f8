package sqlstore_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// clock is a settable time source, so tests control expiry.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

const password = "correct horse battery"

// fixture is one store on one engine, with its services and a bootstrapped super-admin.
type fixture struct {
	t        *testing.T
	engine   string
	db       *sqlstore.DB
	clock    *clock
	admin    context.Context
	projects *sqlstore.ProjectService
	clusters *sqlstore.ClusterService
	envs     *sqlstore.EnvironmentService
	apps     *sqlstore.AppService
	pipes    *sqlstore.PipelineService
	arts     *sqlstore.ArtifactService
	users    *sqlstore.UserService
	groups   *sqlstore.GroupService
	bindings *sqlstore.RoleBindingService
	identity *sqlstore.IdentityService
	audit    *sqlstore.AuditService
	config   *sqlstore.ConfigService
	drafts   *sqlstore.DraftService
}

func newFixture(t *testing.T, engine string, adjust ...func(*sqlstore.Options)) *fixture {
	t.Helper()
	c := &clock{now: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	db := testdb.Open(t, engine, append([]func(*sqlstore.Options){func(o *sqlstore.Options) { o.Now = c.Now }}, adjust...)...)
	f := &fixture{t: t, engine: engine, db: db, clock: c,
		projects: sqlstore.NewProjectService(db), clusters: sqlstore.NewClusterService(db), envs: sqlstore.NewEnvironmentService(db),
		apps: sqlstore.NewAppService(db), pipes: sqlstore.NewPipelineService(db), arts: sqlstore.NewArtifactService(db),
		users: sqlstore.NewUserService(db), groups: sqlstore.NewGroupService(db), bindings: sqlstore.NewRoleBindingService(db),
		identity: sqlstore.NewIdentityService(db), audit: sqlstore.NewAuditService(db), config: sqlstore.NewConfigService(db),
		drafts: sqlstore.NewDraftService(db)}
	if _, created, err := db.Bootstrap(context.Background(), "admin", gatehouse.NewSecret(password)); err != nil || !created {
		t.Fatalf("bootstrap: %v %v", created, err)
	}
	f.admin = f.login("admin")
	return f
}

// login signs a user in with the fixture password and returns a context acting as them.
func (f *fixture) login(name string) context.Context {
	f.t.Helper()
	ctx := context.Background()
	sess, err := f.identity.Login(ctx, gatehouse.Credentials{Name: name, Password: gatehouse.NewSecret(password)}, time.Hour)
	if err != nil {
		f.t.Fatalf("login %s: %v", name, err)
	}
	a, _, err := f.identity.AuthenticateSession(ctx, sess.Token)
	if err != nil {
		f.t.Fatalf("authenticate %s: %v", name, err)
	}
	return gatehouse.WithActor(ctx, a)
}

// person creates a human user holding the bindings ("role@scope") and returns its context.
func (f *fixture) person(name string, bindings ...string) context.Context {
	f.t.Helper()
	if _, err := f.users.CreateUser(f.admin, gatehouse.UserCreate{Name: name, Password: gatehouse.NewSecret(password)}); err != nil {
		f.t.Fatalf("create user %s: %v", name, err)
	}
	f.bind(name, bindings...)
	return f.login(name)
}

// serviceAccount creates a service account holding the bindings and returns the context of
// a request authenticated by its API token.
func (f *fixture) serviceAccount(name string, bindings ...string) context.Context {
	f.t.Helper()
	if _, err := f.users.CreateUser(f.admin, gatehouse.UserCreate{Name: name, Kind: gatehouse.ServiceAccount}); err != nil {
		f.t.Fatalf("create service account %s: %v", name, err)
	}
	f.bind(name, bindings...)
	tok, err := f.identity.CreateToken(f.admin, name, gatehouse.TokenCreate{Name: "pipeline"})
	f.must(err)
	a, err := f.identity.AuthenticateToken(context.Background(), gatehouse.NewSecret(tok.Secret))
	f.must(err)
	return gatehouse.WithActor(context.Background(), a)
}

// bind gives a user the bindings ("role@scope").
func (f *fixture) bind(name string, bindings ...string) {
	f.t.Helper()
	for _, b := range bindings {
		role, scope, _ := strings.Cut(b, "@")
		if _, err := f.bindings.CreateRoleBinding(f.admin, gatehouse.RoleBindingCreate{User: name, Role: gatehouse.Role(role), Scope: scope}); err != nil {
			f.t.Fatalf("bind %s %s: %v", name, b, err)
		}
	}
}

// revoke takes a role from a user, on scope or (scope "") on every scope it holds it: taking
// a vote away applies at once.
func (f *fixture) revoke(user string, role gatehouse.Role, scope string) {
	f.t.Helper()
	bs, err := f.bindings.RoleBindings(f.admin, gatehouse.RoleBindingFilter{User: user})
	f.must(err)
	for _, b := range bs {
		if b.User == user && b.Role == role && (scope == "" || b.Scope == scope) {
			f.must(f.bindings.DeleteRoleBinding(f.admin, b.ID))
		}
	}
}

// grantThrough gives a user or group (ref names it) more roles ("role@scope"), or a group
// more members, through an access draft that the approvers pass: the way to give a vote
// once a policy counts it.
func (f *fixture) grantThrough(ref gatehouse.DraftRef, roles, members []string, approvers ...context.Context) *gatehouse.Draft {
	f.t.Helper()
	ref.Kind = gatehouse.DraftAccess
	live, err := f.drafts.Live(f.admin, ref)
	f.must(err)
	text, err := gatehouse.EditAccess(live.Content, func(a *gatehouse.Access) {
		for _, r := range roles {
			role, scope, _ := strings.Cut(r, "@")
			a.Roles = append(a.Roles, gatehouse.RoleGrant{Role: gatehouse.Role(role), Scope: scope})
		}
		a.Members = append(a.Members, members...)
	})
	f.must(err)
	return f.passDraft(f.admin, ref, text, approvers...)
}

func (f *fixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

// wantErr fails unless err has the kind and its text contains every fragment.
func wantErr(t *testing.T, err error, kind gatehouse.ErrorKind, fragments ...string) {
	t.Helper()
	if gatehouse.KindOf(err) != kind {
		t.Fatalf("error = %v (%s), want kind %s", err, gatehouse.KindOf(err), kind)
	}
	for _, fr := range fragments {
		if !strings.Contains(err.Error(), fr) {
			t.Fatalf("error %q does not mention %q", err, fr)
		}
	}
}

const kubeconfig = testdb.Kubeconfig

// world creates project shop with cluster c1, environments dev/stage/prod and app web.
func (f *fixture) world() {
	f.t.Helper()
	_, err := f.projects.CreateProject(f.admin, gatehouse.ProjectCreate{Name: "shop"})
	f.must(err)
	_, err = f.clusters.CreateCluster(f.admin, gatehouse.ClusterCreate{Name: "c1", Kubeconfig: gatehouse.NewSecret(kubeconfig)})
	f.must(err)
	for _, e := range []string{"dev", "stage", "prod"} {
		_, err := f.envs.CreateEnvironment(f.admin, "shop", gatehouse.EnvironmentCreate{Name: e, Cluster: "c1", Namespace: "shop-" + e, Production: e == "prod"})
		f.must(err)
	}
	_, err = f.apps.CreateApp(f.admin, "shop", gatehouse.AppCreate{Name: "web", Values: "replicas: 2\n"})
	f.must(err)
}

// countRows runs a COUNT query straight on the database file or schema.
func (f *fixture) countRows(query string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.db.Raw().QueryRow(query, args...).Scan(&n); err != nil {
		f.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// exec changes the database behind the store's back, as an attacker with database access would.
func (f *fixture) exec(query string, args ...any) {
	f.t.Helper()
	if _, err := f.db.Raw().Exec(query, args...); err != nil {
		f.t.Fatalf("%s: %v", query, err)
	}
}

func openDSN(t *testing.T, dsn string, keys testdb.Keys) (*sqlstore.DB, error) {
	return sqlstore.Open(t.Context(), sqlstore.Options{DSN: dsn, Secrets: keys.Secrets, AuditKey: keys.AuditKey})
}

// concurrently runs f(0) … f(n-1) at once and returns each one's error, by index.
func concurrently(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	return errs
}

// passDraft carries a change of a protected subject through its draft: opened and proposed
// by author, approved by each of approvers for its version, published by author.
func (f *fixture) passDraft(author context.Context, ref gatehouse.DraftRef, content string, approvers ...context.Context) *gatehouse.Draft {
	f.t.Helper()
	d, err := f.drafts.CreateDraft(author, gatehouse.DraftCreate{DraftRef: ref, ConfigWrite: gatehouse.ConfigWrite{Content: content}})
	f.must(err)
	d, err = f.drafts.ProposeDraft(author, d.ID, gatehouse.DraftPropose{})
	f.must(err)
	for _, a := range approvers {
		d, err = f.drafts.ApproveDraft(a, d.ID, gatehouse.Decision{Version: d.Version})
		f.must(err)
	}
	d, err = f.drafts.PublishDraft(author, d.ID)
	f.must(err)
	return d
}
