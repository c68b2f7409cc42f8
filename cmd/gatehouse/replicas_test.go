package main_test

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/client"
	"github.com/gatehousehq/gatehouse/internal/testbed"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
	"github.com/gatehousehq/gatehouse/keyring"
	"github.com/gatehousehq/gatehouse/kube"
)

// replicas are `gatehouse serve` processes on one PostgreSQL database, with the same key
// files, each on its own address; they start together, as a Deployment's pods do.
type replicas struct {
	t     *testing.T
	dsn   string
	mu    sync.Mutex
	procs []*testserver.Proc
	args  [][]string
	urls  []string
	token string
	// started is when the replicas were started.
	started time.Time
}

func startReplicas(t *testing.T, n int, extra ...string) *replicas {
	t.Helper()
	dir := t.TempDir()
	rs := &replicas{t: t, dsn: testdb.DSN(t, "postgres")}
	keyFiles := []string{"--secret-key-file", filepath.Join(dir, "secret.key"), "--audit-key-file", filepath.Join(dir, "audit.key"),
		"--attestation-key-file", filepath.Join(dir, "attestation.key")}
	for i := 1; i < len(keyFiles); i += 2 {
		if err := os.WriteFile(keyFiles[i], []byte(base64.StdEncoding.EncodeToString(keyring.NewKey())+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		addr := testserver.FreeAddr(t)
		args := append([]string{"--listen", addr, "--database", rs.dsn, "--data-dir", filepath.Join(dir, fmt.Sprint(i)),
			"--log-level", "warn"}, keyFiles...)
		rs.args = append(rs.args, append(args, extra...))
		rs.urls = append(rs.urls, "http://"+addr)
	}
	rs.started = time.Now()
	rs.procs = testserver.StartProcesses(t, rs.args...)
	rs.token = testserver.AdminClient(t, rs.urls[0]).Token
	return rs
}

// client is the super-admin's client of replica i (one token serves every replica).
func (rs *replicas) client(i int) *client.Client {
	return client.New(rs.urls[i%len(rs.urls)], rs.token)
}

// kill ends replica i with SIGKILL and starts it again on the same settings.
func (rs *replicas) kill(i int) {
	rs.t.Helper()
	rs.mu.Lock()
	p := rs.procs[i]
	rs.mu.Unlock()
	if err := p.Cmd.Process.Kill(); err != nil {
		rs.t.Fatal(err)
	}
	_ = p.Cmd.Wait()
	np := testserver.StartProcess(rs.t, rs.args[i]...)
	rs.mu.Lock()
	rs.procs[i] = np
	rs.mu.Unlock()
}

// pids are the replicas' current process ids.
func (rs *replicas) pids() []int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	var out []int
	for _, p := range rs.procs {
		out = append(out, p.Cmd.Process.Pid)
	}
	return out
}

// db opens the replicas' database directly, for facts the API does not show (which worker
// ran what, River's jobs).
func (rs *replicas) db() *sql.DB {
	db, err := sql.Open("pgx", rs.dsn)
	if err != nil {
		rs.t.Fatal(err)
	}
	rs.t.Cleanup(func() { db.Close() })
	return db
}

// shop sets up project shop on the cluster: environments dev and prod (see gate), and
// approver ann.
func (rs *replicas) shop(cluster *testbed.Cluster) {
	rs.t.Helper()
	c := rs.client(0)
	testserver.Setup(rs.t, c,
		testserver.Post("/api/v1/projects", gatehouse.ProjectCreate{Name: "shop"}),
		testserver.Post("/api/v1/clusters", gatehouse.ClusterCreate{Name: "k", Kubeconfig: gatehouse.OutgoingSecret(string(cluster.Kubeconfig()))}),
		testserver.Post("/api/v1/projects/shop/environments", gatehouse.EnvironmentCreate{Name: "dev", Cluster: "k", Namespace: "shop-dev"}),
		testserver.Post("/api/v1/projects/shop/environments", gatehouse.EnvironmentCreate{Name: "prod", Cluster: "k", Namespace: "shop-prod"}),
		testserver.Post("/api/v1/users", gatehouse.UserCreate{Name: "ann", Password: gatehouse.OutgoingSecret(testserver.Password)}),
		testserver.Post("/api/v1/rolebindings", gatehouse.RoleBindingCreate{User: "ann", Role: gatehouse.RoleImageApprover, Scope: "project:shop"}),
	)
}

// gate puts prod behind one approval; from then on its apps' settings are gated too.
func (rs *replicas) gate() {
	rs.t.Helper()
	testserver.Setup(rs.t, rs.client(1),
		testserver.Post("/api/v1/policies", gatehouse.PolicySpec{Name: "gate", Scope: "project:shop/env:prod", Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}}))
}

// app creates app name whose one stage is env, with an artifact of digest.
func (rs *replicas) app(i int, name, env, digest string) {
	rs.t.Helper()
	testserver.Setup(rs.t, rs.client(i),
		testserver.Post("/api/v1/projects/shop/apps", gatehouse.AppCreate{Name: name, Values: "replicas: 1\n"}),
		testserver.Put("/api/v1/projects/shop/apps/"+name+"/pipeline", gatehouse.PipelineSet{Stages: []gatehouse.Stage{{Environment: env}}}),
		testserver.Post("/api/v1/projects/shop/apps/"+name+"/artifacts", gatehouse.ArtifactCreate{Image: "registry.example.com/" + name + "@" + digest}),
	)
}

// deployments lists app's deployments, asking the replicas in turn until one answers.
func (rs *replicas) deployments(ctx context.Context, app string) []gatehouse.Deployment {
	rs.t.Helper()
	var out struct{ Items []gatehouse.Deployment }
	rs.retry(ctx, "list deployments of "+app, func(c *client.Client) error {
		return c.Do(ctx, "GET", "/api/v1/projects/shop/apps/"+app+"/deployments", nil, nil, &out)
	})
	return out.Items
}

// retry runs call on each replica in turn until one answers: a replica being killed drops
// its connections, and the request is then sent to the other.
func (rs *replicas) retry(ctx context.Context, what string, call func(*client.Client) error) {
	rs.t.Helper()
	var err error
	for i, deadline := 0, time.Now().Add(20*time.Second); time.Now().Before(deadline); i++ {
		if err = call(rs.client(i)); err == nil {
			return
		}
		var re *client.RequestError
		if errors.As(err, &re) {
			rs.t.Fatalf("%s: %v", what, err)
		}
		select {
		case <-ctx.Done():
			rs.t.Fatal(ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	rs.t.Fatalf("%s: no replica answered: %v", what, err)
}

// deploy starts app's one deployment to env through replica i. When the replica dies before
// answering, the deployment may have been committed: it is looked for before asking again,
// so a retry never makes a second one.
func (rs *replicas) deploy(ctx context.Context, i int, app, env, digest string) {
	rs.t.Helper()
	for n, deadline := i, time.Now().Add(time.Minute); time.Now().Before(deadline); n++ {
		var d gatehouse.Deployment
		err := rs.client(n).Do(ctx, "POST", "/api/v1/projects/shop/apps/"+app+"/deployments", nil,
			gatehouse.DeploymentCreate{Environment: env, Digest: digest}, &d)
		var re *client.RequestError
		if err == nil {
			return
		} else if errors.As(err, &re) {
			rs.t.Fatalf("deploy %s to %s: %v", app, env, err)
		}
		if len(rs.deployments(ctx, app)) > 0 {
			return
		}
	}
	rs.t.Fatalf("deploy %s to %s: no replica took it", app, env)
}

// waitEnded waits until every app's deployment has ended and returns them by app.
func (rs *replicas) waitEnded(ctx context.Context, apps []string, within time.Duration) map[string]gatehouse.Deployment {
	rs.t.Helper()
	out := map[string]gatehouse.Deployment{}
	for deadline := time.Now().Add(within); ; {
		for _, app := range apps {
			if _, done := out[app]; done {
				continue
			}
			ds := rs.deployments(ctx, app)
			if len(ds) != 1 {
				rs.t.Fatalf("app %s has %d deployments, want 1", app, len(ds))
			}
			var d gatehouse.Deployment
			rs.retry(ctx, "read deployment", func(c *client.Client) error {
				return c.Do(ctx, "GET", fmt.Sprintf("/api/v1/projects/shop/apps/%s/deployments/%d", app, ds[0].ID), nil, nil, &d)
			})
			if d.State.Terminal() {
				out[app] = d
			}
		}
		if len(out) == len(apps) {
			return out
		}
		if time.Now().After(deadline) {
			var stuck []string
			for _, app := range apps {
				if _, done := out[app]; !done {
					stuck = append(stuck, app)
				}
			}
			rs.t.Fatalf("deployments of %v did not end within %s", stuck, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// verifyAudit checks the audit chain through replica i.
func (rs *replicas) verifyAudit(ctx context.Context, i int) gatehouse.AuditReport {
	rs.t.Helper()
	var rep gatehouse.AuditReport
	if err := rs.client(i).Do(ctx, "POST", "/api/v1/audit/verify", nil, nil, &rep); err != nil {
		rs.t.Fatal(err)
	}
	if !rep.OK {
		rs.t.Fatalf("the audit chain does not verify: %+v", rep.Broken)
	}
	return rep
}

// approved has ann approve a request for app's digest to prod, asked by the super-admin.
func (rs *replicas) approved(ctx context.Context, ann *client.Client, app, digest string) int64 {
	rs.t.Helper()
	var req gatehouse.ApprovalRequest
	if err := rs.client(0).Do(ctx, "POST", "/api/v1/projects/shop/apps/"+app+"/approvals", nil,
		gatehouse.ApprovalCreate{Environment: "prod", Digest: digest}, &req); err != nil {
		rs.t.Fatal(err)
	}
	if err := ann.Do(ctx, "POST", fmt.Sprintf("/api/v1/approvals/%d/approve", req.ID), nil, gatehouse.Decision{Comment: "ok"}, &req); err != nil {
		rs.t.Fatal(err)
	}
	if req.State != gatehouse.ApprovalApproved {
		rs.t.Fatalf("request %d is %s after ann's vote", req.ID, req.State)
	}
	return req.ID
}

// TestTwoReplicasServeAlike runs two servers on one PostgreSQL database: the API and the UI
// answer alike on both (what one writes the other reads at once, a deployment's live stream
// follows it from either), River spreads the deployments over both, and the leader's upkeep
// runs once across them, not once per replica.
func TestTwoReplicasServeAlike(t *testing.T) {
	cluster := testbed.StartT(t, testbed.Options{Nodes: 1})
	rs := startReplicas(t, 2, "--deploy-lease", "2s", "--workers", "3")
	ctx := context.Background()
	rs.shop(cluster)
	var apps []string
	for i := range 12 {
		app := fmt.Sprintf("web-%d", i)
		apps = append(apps, app)
		rs.app(i, app, "dev", testserver.Digest(int64(i+1)))
	}
	// Written through one replica, read through the other at once.
	for i, app := range apps {
		var a gatehouse.App
		if err := rs.client(i+1).Do(ctx, "GET", "/api/v1/projects/shop/apps/"+app, nil, nil, &a); err != nil || a.Name != app {
			t.Fatalf("replica %d reads app %s: %+v, %v", (i+1)%2, app, a, err)
		}
	}
	for i, app := range apps {
		rs.deploy(ctx, i, app, "dev", testserver.Digest(int64(i+1)))
	}
	// The live stream of deployment 1, started through replica 0, followed on replica 1.
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	stream, err := rs.client(1).Stream(sctx, "/ui/projects/shop/apps/web-0/deployments/1/events", map[string][]string{"after": {"0"}})
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(stream)
	stream.Close()
	if err != nil || !strings.Contains(string(body), "event: step") || !strings.Contains(string(body), `"done":true`) {
		t.Fatalf("replica 1's stream of deployment 1 (%v):\n%s", err, body)
	}
	ended := rs.waitEnded(ctx, apps, 2*time.Minute)
	for app, d := range ended {
		if d.State != gatehouse.StateSucceeded {
			t.Errorf("%s: %s (%s)\n%s", app, d.State, d.Cause, events(d))
		}
	}
	// Three workers each: twelve deployments cannot all run on one replica at once.
	host, _ := os.Hostname()
	for i, pid := range rs.pids() {
		n := 0
		for _, d := range ended {
			if strings.Contains(events(d), fmt.Sprintf("started by worker %s-%d-", host, pid)) {
				n++
			}
		}
		if n == 0 {
			t.Errorf("replica %d (pid %d) started none of the deployments", i, pid)
		}
	}
	db := rs.db()
	// Upkeep every tenth of the lease (200ms), inserted by the leader alone: two replicas
	// each inserting it would make about twice as many.
	// River's leader starts its periodic jobs some time after it is elected; wait for the
	// first before counting.
	var upkeeps int
	for deadline := time.Now().Add(time.Minute); ; {
		if err := db.QueryRow(`SELECT COUNT(*) FROM river_job WHERE kind = 'upkeep'`).Scan(&upkeeps); err != nil {
			t.Fatal(err)
		}
		if upkeeps > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if most := int(time.Since(rs.started)/(200*time.Millisecond)) + 3; upkeeps == 0 || upkeeps > most {
		var leaders, jobs int
		_ = db.QueryRow(`SELECT (SELECT COUNT(*) FROM river_leader), (SELECT COUNT(*) FROM river_job)`).Scan(&leaders, &jobs)
		t.Logf("River: %d leader, %d jobs in all", leaders, jobs)
		t.Errorf("%d upkeep rounds in %s, want between 1 and %d", upkeeps, time.Since(rs.started).Round(time.Millisecond), most)
	}
	rs.verifyAudit(ctx, 1)
}

// TestTwoReplicasSurviveKills kills one of two replicas (SIGKILL, at a random moment) twenty
// times while fifty deployments run, half of them to a gated prod, each on its approved
// request. Every deployment must succeed, none stuck; each approval is consumed by exactly
// one deployment; each Helm release has one revision per apply the deployment recorded (an
// apply cut short and recovered is recorded; a second apply of a finished one would not be);
// and the audit chain verifies.
func TestTwoReplicasSurviveKills(t *testing.T) {
	cluster := testbed.StartT(t, testbed.Options{Nodes: 1})
	rs := startReplicas(t, 2, "--deploy-lease", "2s", "--workers", "10")
	ctx := context.Background()
	rs.shop(cluster)
	ann := testserver.SignIn(t, rs.urls[1], "ann", testserver.Password)
	type target struct{ app, env, digest string }
	var targets []target
	approvals := map[string]int64{}
	for i := range 50 {
		tg := target{fmt.Sprintf("dev-%d", i), "dev", testserver.Digest(int64(i + 1))}
		if i%2 == 1 {
			tg = target{fmt.Sprintf("prod-%d", i), "prod", testserver.Digest(int64(i + 1))}
		}
		rs.app(i, tg.app, tg.env, tg.digest)
		targets = append(targets, tg)
	}
	rs.gate()
	for _, tg := range targets {
		if tg.env == "prod" {
			approvals[tg.app] = rs.approved(ctx, ann, tg.app, tg.digest)
		}
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 14))
	seed := rng.Uint64()
	t.Logf("kill schedule seed %d", seed)
	rng = rand.New(rand.NewPCG(seed, 14))
	// Five deployments start before each of the first ten kills, so the kills land on
	// deployments queued, applying, verifying and done.
	for round := range 20 {
		for k := 0; round < 10 && k < 5; k++ {
			i := round*5 + k
			rs.deploy(ctx, i, targets[i].app, targets[i].env, targets[i].digest)
		}
		// The moment is the point of the test: a random delay, not a wait for something.
		time.Sleep(time.Duration(rng.IntN(1500)) * time.Millisecond)
		rs.kill(rng.IntN(2))
	}
	var apps []string
	for _, tg := range targets {
		apps = append(apps, tg.app)
	}
	ended := rs.waitEnded(ctx, apps, 3*time.Minute)
	conn, err := kube.Connect("k", cluster.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	resumed := 0
	for _, tg := range targets {
		d := ended[tg.app]
		if d.State != gatehouse.StateSucceeded {
			t.Errorf("%s: %s (%s)\n%s", tg.app, d.State, d.Cause, events(d))
			continue
		}
		steps := events(d)
		if strings.Contains(steps, "resumed by worker") {
			resumed++
		}
		revs, err := conn.Revisions(ctx, "shop-"+tg.env, d.Release)
		if err != nil {
			t.Fatal(err)
		}
		own := 0
		for _, r := range revs {
			if r.Deployment == fmt.Sprint(d.ID) {
				own++
			}
		}
		if applies := 1 + strings.Count(steps, "left pending by an interrupted worker"); own != applies || len(revs) != own {
			t.Errorf("%s: %d Helm revisions (%d of deployment %d) for %d recorded applies:\n%s", tg.app, len(revs), own, d.ID, applies, steps)
		}
		if id, gated := approvals[tg.app]; gated {
			var req gatehouse.ApprovalRequest
			rs.retry(ctx, "read approval", func(c *client.Client) error {
				return c.Do(ctx, "GET", fmt.Sprintf("/api/v1/approvals/%d", id), nil, nil, &req)
			})
			if req.State != gatehouse.ApprovalConsumed || req.Deployment != d.ID {
				t.Errorf("%s: approval %d is %s by deployment %d, want consumed by %d", tg.app, id, req.State, req.Deployment, d.ID)
			}
		}
	}
	if resumed == 0 {
		t.Errorf("twenty kills interrupted no deployment: the test did not test resuming")
	}
	t.Logf("%d of %d deployments were resumed by another worker", resumed, len(targets))
	rs.verifyAudit(ctx, 0)
}
