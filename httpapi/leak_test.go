package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/client"
	"github.com/gatehousehq/gatehouse/internal/testbed"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// recorder keeps every response body its clients receive.
type recorder struct {
	mu     sync.Mutex
	bodies []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.bodies = append(r.bodies, req.Method+" "+req.URL.String()+"\n"+string(b))
	r.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

func (r *recorder) watch(c *client.Client) *client.Client {
	c.HTTP.Transport = r
	return c
}

// TestSecretsNeverLeak plants secret values through every way in — direct sets, draft
// versions, bad input that quotes them — publishes them, deploys them to a real cluster,
// compares and diffs, then greps every API response, every server and worker log line, the
// audit trail (its table and its export) and every row of the database for them. Only the
// cluster may hold them.
func TestSecretsNeverLeak(t *testing.T) {
	cluster := testbed.StartT(t, testbed.Options{Nodes: 1}) // one cluster: each engine deploys to namespaces of its own
	testdb.ForEach(t, func(t *testing.T, engine string) { secretsNeverLeak(t, engine, cluster) })
}

func secretsNeverLeak(t *testing.T, engine string, cluster *testbed.Cluster) {
	planted := []string{"planted-dev-pw-7731", "planted-draft-v1-8842", "planted-draft-v2-9953", "planted-bad-yaml-1064", "planted-in-values-2175"}
	srv := testserver.StartDeploying(t, engine)
	ctx := context.Background()
	rec := &recorder{}
	admin := rec.watch(srv.Admin)
	do := func(c *client.Client, method, path string, in, out any) error {
		return c.Do(ctx, method, path, nil, in, out)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(do(admin, "POST", "/api/v1/projects", gatehouse.ProjectCreate{Name: "shop"}, nil))
	must(do(admin, "POST", "/api/v1/clusters", gatehouse.ClusterCreate{Name: "k", Kubeconfig: gatehouse.OutgoingSecret(string(cluster.Kubeconfig()))}, nil))
	for _, e := range []string{"dev", "prod"} {
		must(do(admin, "POST", "/api/v1/projects/shop/environments", gatehouse.EnvironmentCreate{Name: e, Cluster: "k", Namespace: "shop-" + e + "-" + engine}, nil))
	}
	must(do(admin, "POST", "/api/v1/projects/shop/apps", gatehouse.AppCreate{Name: "web", Values: "replicas: 1\n"}, nil))
	must(do(admin, "PUT", "/api/v1/projects/shop/apps/web/pipeline", gatehouse.PipelineSet{Stages: []gatehouse.Stage{{Environment: "dev"}, {Environment: "prod", After: "dev"}}}, nil))
	srv.Person("alice", "admin@project:shop")
	srv.Person("bob", "config-approver@project:shop")
	srv.Person("vic", "viewer@project:shop")
	must(do(admin, "POST", "/api/v1/policies", gatehouse.PolicySpec{Name: "prod-config", Kind: gatehouse.PolicyConfig, Scope: "project:shop/env:prod",
		Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}}, nil))
	alice, bob, vic := rec.watch(srv.Login("alice")), rec.watch(srv.Login("bob")), rec.watch(srv.Login("vic"))

	const app = "/api/v1/projects/shop/apps/web"
	must(do(admin, "PUT", app+"/environments/dev/config/secrets", gatehouse.ConfigWrite{Content: "DB_PASSWORD: " + planted[0] + "\n"}, nil))
	// Bad input that quotes a secret is refused without echoing it.
	for _, bad := range []struct{ path, content string }{
		{app + "/environments/dev/config/secrets", "DB_PASSWORD: [" + planted[3] + "\n"},
		{app + "/environments/dev/config/secrets", "nested:\n  x: " + planted[3] + "\n"},
		{app + "/environments/dev/config/values", "secrets:\n  TOKEN: " + planted[4] + "\n"},
		{app + "/environments/dev/config/values", "replicas: " + planted[4] + "\n"},
	} {
		if err := do(admin, "PUT", bad.path, gatehouse.ConfigWrite{Content: bad.content}, nil); gatehouse.KindOf(err) != gatehouse.KindInvalid {
			t.Fatalf("PUT %s %q: %v, want invalid", bad.path, bad.content, err)
		}
	}
	// A protected secret goes through a draft with two versions, an approval and a publish.
	var d gatehouse.Draft
	must(do(alice, "POST", app+"/environments/prod/config/secrets/drafts", gatehouse.ConfigWrite{Content: "DB_PASSWORD: " + planted[1] + "\n"}, &d))
	must(do(alice, "POST", fmt.Sprintf("/api/v1/drafts/%d/versions", d.ID), gatehouse.ConfigWrite{Content: "DB_PASSWORD: " + planted[2] + "\nUSER: web\n", BaseVersion: 1}, &d))
	must(do(alice, "POST", fmt.Sprintf("/api/v1/drafts/%d/comments", d.ID), map[string]string{"text": "rotated"}, nil))
	must(do(alice, "POST", fmt.Sprintf("/api/v1/drafts/%d/propose", d.ID), gatehouse.DraftPropose{}, nil))
	must(do(bob, "POST", fmt.Sprintf("/api/v1/drafts/%d/approve", d.ID), gatehouse.Decision{Version: d.Version}, nil))
	must(do(alice, "POST", fmt.Sprintf("/api/v1/drafts/%d/publish", d.ID), nil, nil))

	// Deploy both environments to the real cluster, twice on dev, and read everything back.
	digest := "sha256:" + strings.Repeat("cd", 32)
	must(do(admin, "POST", app+"/artifacts", gatehouse.ArtifactCreate{Image: "registry.example.com/web:1@" + digest}, nil))
	var deps []int64
	for _, env := range []string{"dev", "prod", "dev"} {
		var dep gatehouse.Deployment
		must(do(alice, "POST", app+"/deployments", gatehouse.DeploymentCreate{Environment: env, Digest: digest}, &dep))
		deps = append(deps, dep.ID)
		waitDeployment(t, alice, app, dep.ID)
		if env == "prod" {
			must(do(admin, "PUT", app+"/environments/dev/config/secrets", gatehouse.ConfigWrite{Content: "DB_PASSWORD: •••\nEXTRA: " + planted[0] + "x\n"}, nil))
		}
	}
	for _, c := range []*client.Client{admin, alice, vic} {
		for _, path := range []string{
			app + "/config/values", app + "/environments/dev/config/secrets", app + "/environments/prod/config/secrets",
			app + "/config-compare?from=dev&to=prod", "/api/v1/drafts", fmt.Sprintf("/api/v1/drafts/%d", d.ID),
			app + "/deployments", fmt.Sprintf("%s/deployments/%d", app, deps[0]), fmt.Sprintf("%s/deployments/%d/diff/%d", app, deps[0], deps[2]),
			fmt.Sprintf("%s/deployments/%d/diff/%d", app, deps[0], deps[1]),
		} {
			var out any
			if err := c.Do(ctx, "GET", strings.Split(path, "?")[0], queryOf(path), nil, &out); err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
		}
	}
	stream, err := admin.Stream(ctx, "/api/v1/audit", nil)
	must(err)
	export, err := io.ReadAll(stream)
	stream.Close()
	must(err)
	if !strings.Contains(string(export), "config.publish") {
		t.Fatalf("the audit export lacks the publish:\n%.2000s", export)
	}

	// The cluster holds the secret: it did reach its destination.
	if got := secretValue(t, cluster, "shop-prod-"+engine, "DB_PASSWORD"); got != planted[2] {
		t.Fatalf("the prod Secret holds %q", got)
	}
	haystack := map[string]string{"server and worker log": srv.Log.String(), "audit export": string(export), "database": dumpDatabase(t, srv)}
	for i, b := range rec.bodies {
		haystack[fmt.Sprintf("API response %d", i)] = b
	}
	for where, text := range haystack {
		for _, p := range planted {
			if i := strings.Index(text, p); i >= 0 {
				t.Errorf("the %s shows a secret value: …%s…", where, text[max(0, i-200):min(len(text), i+60)])
			}
		}
	}
	if !strings.Contains(srv.Log.String(), `"status":200`) || len(rec.bodies) < 40 {
		t.Fatalf("the test saw too little: %d responses, log %.300s", len(rec.bodies), srv.Log.String())
	}
}

func queryOf(path string) url.Values {
	_, q, _ := strings.Cut(path, "?")
	v, _ := url.ParseQuery(q)
	return v
}

// waitDeployment waits for a deployment to end and fails the test unless it succeeded.
func waitDeployment(t *testing.T, c *client.Client, app string, id int64) {
	t.Helper()
	var d gatehouse.Deployment
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err := c.Do(context.Background(), "GET", fmt.Sprintf("%s/deployments/%d", app, id), nil, nil, &d); err != nil {
			t.Fatal(err)
		}
		if d.State.Terminal() {
			break
		}
	}
	if d.State != gatehouse.StateSucceeded {
		t.Fatalf("deployment %d: %s %s", id, d.State, d.Cause)
	}
}

// secretValue reads a key of whichever Secret in the namespace holds it.
func secretValue(t *testing.T, c *testbed.Cluster, namespace, key string) string {
	t.Helper()
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	list, err := cs.CoreV1().Secrets(namespace).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list.Items {
		if v, ok := s.Data[key]; ok {
			return string(v)
		}
	}
	return ""
}

// tablesOf lists the tables of the store, per engine.
var tablesOf = map[string]string{
	"sqlite":   `SELECT name FROM sqlite_master WHERE type = 'table'`,
	"postgres": `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`,
}

// dumpDatabase renders every row of every table as text.
func dumpDatabase(t *testing.T, srv *testserver.Server) string {
	t.Helper()
	db := srv.DB.Raw()
	rows, err := db.Query(tablesOf[srv.DB.Engine()])
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		_ = rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	var out strings.Builder
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&out, "%s:", table)
			for _, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				fmt.Fprintf(&out, " %v", v)
			}
			out.WriteString("\n")
		}
		rows.Close()
	}
	if !strings.Contains(out.String(), "draft_versions:") {
		t.Fatalf("the dump lacks the drafts:\n%.500s", out.String())
	}
	return out.String()
}
