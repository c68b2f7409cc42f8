package worker_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testbed"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/wire"
	"github.com/gatehousehq/gatehouse/sqlstore"
	"github.com/gatehousehq/gatehouse/worker"
)

// clusters are two real testbed control planes shared by the package's tests; each test works
// in namespaces of its own.
var clusters [2]*testbed.Cluster

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	var wg sync.WaitGroup
	errs := make([]error, len(clusters))
	for i := range clusters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			clusters[i], errs[i] = testbed.Start(ctx, testbed.Options{})
		}()
	}
	wg.Wait()
	cancel()
	code := 1
	if err := firstErr(errs); err != nil {
		fmt.Fprintln(os.Stderr, "testbed:", err)
	} else {
		code = m.Run()
	}
	for _, c := range clusters {
		if c != nil {
			_ = c.Stop()
		}
	}
	os.Exit(code)
}

func firstErr(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// harness is a store with project "p", clusters c0 and c1 registered, and deploy workers.
type harness struct {
	t      *testing.T
	db     *sqlstore.DB
	ctx    context.Context
	runner *worker.Runner
	suffix string
	envs   *sqlstore.EnvironmentService
	apps   *sqlstore.AppService
	pipes  *sqlstore.PipelineService
	arts   *sqlstore.ArtifactService
	deps   *sqlstore.DeploymentService
	ahead  atomic.Int64 // how far the store's clock runs ahead of real time, in nanoseconds
}

// advance moves the store's clock forward by d, instead of waiting.
func (h *harness) advance(d time.Duration) { h.ahead.Add(int64(d)) }

func newHarness(t *testing.T, engine string) *harness {
	h := newIdleHarness(t, engine)
	h.must(h.runner.Start(h.ctx))
	return h
}

// newIdleHarness is newHarness with workers built but not started.
func newIdleHarness(t *testing.T, engine string) *harness {
	t.Helper()
	h := &harness{}
	db := testdb.Open(t, engine, func(o *sqlstore.Options) {
		o.Now = func() time.Time { return time.Now().Add(time.Duration(h.ahead.Load())) }
	})
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	// Field by field: the store's audit sequencer already reads h.ahead (through Now), and
	// assigning the whole struct would write it under the sequencer's feet.
	h.t, h.db, h.ctx, h.suffix = t, db, gatehouse.WithActor(context.Background(), gatehouse.SystemActor()), hex.EncodeToString(b)
	h.envs, h.apps, h.pipes = sqlstore.NewEnvironmentService(db), sqlstore.NewAppService(db), sqlstore.NewPipelineService(db)
	h.arts, h.deps = sqlstore.NewArtifactService(db), sqlstore.NewDeploymentService(db)
	_, err := sqlstore.NewProjectService(db).CreateProject(h.ctx, gatehouse.ProjectCreate{Name: "p"})
	h.must(err)
	for i, c := range clusters {
		_, err := sqlstore.NewClusterService(db).CreateCluster(h.ctx, gatehouse.ClusterCreate{Name: fmt.Sprintf("c%d", i), Kubeconfig: gatehouse.NewSecret(string(c.Kubeconfig()))})
		h.must(err)
	}
	h.runner, err = wire.Worker(h.ctx, db, wire.WorkerOptions{DataDir: t.TempDir(), Lease: 2 * time.Second, PollInterval: 50 * time.Millisecond})
	h.must(err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := h.runner.Stop(ctx); err != nil {
			t.Errorf("stop workers: %v", err)
		}
	})
	return h
}

func (h *harness) must(err error) {
	h.t.Helper()
	if err != nil {
		h.t.Fatal(err)
	}
}

// env creates an environment on cluster c0 or c1 in a namespace of this test's own.
func (h *harness) env(name string, cluster int) string {
	h.t.Helper()
	ns := name + "-" + h.suffix
	_, err := h.envs.CreateEnvironment(h.ctx, "p", gatehouse.EnvironmentCreate{Name: name, Cluster: fmt.Sprintf("c%d", cluster), Namespace: ns})
	h.must(err)
	return ns
}

// app creates an app with values and hooks and a pipeline of the stages.
func (h *harness) app(name, values string, hooks gatehouse.Hooks, stages ...gatehouse.Stage) {
	h.t.Helper()
	h.createApp(gatehouse.AppCreate{Name: name, Values: values, Hooks: hooks}, stages...)
}

// createApp creates the app and a pipeline of the stages.
func (h *harness) createApp(in gatehouse.AppCreate, stages ...gatehouse.Stage) {
	h.t.Helper()
	_, err := h.apps.CreateApp(h.ctx, "p", in)
	h.must(err)
	_, err = h.pipes.SetPipeline(h.ctx, "p", in.Name, gatehouse.PipelineSet{Stages: stages})
	h.must(err)
}

// push registers an image whose repository carries a marker the testbed acts on
// ("never-ready", "unpullable", "crashloop", "job-fails") or none, and returns its digest.
func (h *harness) push(app, marker string) string {
	h.t.Helper()
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	digest := "sha256:" + hex.EncodeToString(b)
	repo := "registry.example.com/" + app
	if marker != "" {
		repo += "-" + marker
	}
	_, err := h.arts.CreateArtifact(h.ctx, "p", app, gatehouse.ArtifactCreate{Image: repo + "@" + digest})
	h.must(err)
	return digest
}

func (h *harness) deploy(app, env, digest string) *gatehouse.Deployment {
	h.t.Helper()
	d, err := h.deps.Deploy(h.ctx, "p", app, gatehouse.DeploymentCreate{Environment: env, Digest: digest})
	h.must(err)
	return d
}

// wait returns the deployment once it has ended.
func (h *harness) wait(app string, id int64) *gatehouse.Deployment {
	h.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		d, err := h.deps.Deployment(h.ctx, "p", app, id)
		h.must(err)
		if d.State.Terminal() {
			return d
		}
		time.Sleep(50 * time.Millisecond)
	}
	d, _ := h.deps.Deployment(h.ctx, "p", app, id)
	h.t.Fatalf("deployment %d did not end within 90s: %+v", id, d)
	return nil
}

// kube is a client of testbed cluster i.
func kube(t *testing.T, i int) kubernetes.Interface {
	cs, err := kubernetes.NewForConfig(clusters[i].RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// deployedImage is the image of the app's Deployment in the namespace of cluster i.
func deployedImage(t *testing.T, i int, ns, app string) (string, int32) {
	t.Helper()
	d, err := kube(t, i).AppsV1().Deployments(ns).Get(context.Background(), app, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("read deployment %s/%s on cluster %d: %v", ns, app, i, err)
	}
	return d.Spec.Template.Spec.Containers[0].Image, d.Status.ReadyReplicas
}

func events(d *gatehouse.Deployment) string {
	var s string
	for _, e := range d.Events {
		s += e.Step + ": " + e.Message + "\n"
	}
	return s
}

var metaGet = metav1.GetOptions{}

func ptr[T any](v T) *T { return &v }

func sleep() { time.Sleep(50 * time.Millisecond) }
