package worker_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
	kubepkg "github.com/gatehousehq/gatehouse/kube"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// aliasOf is cluster i's kubeconfig with its API server reached by another name: the same
// Kubernetes cluster at a URL that differs as text (its certificate names neither, so the
// name it does carry is asked for).
func aliasOf(i int) gatehouse.Secret {
	kc := strings.Replace(string(clusters[i].Kubeconfig()), "    server: https://127.0.0.1:", "    tls-server-name: kubernetes\n    server: https://localhost:", 1)
	return gatehouse.NewSecret(kc)
}

// TestSameClusterUnderTwoNamesIsRefused: namespaces are claimed per API server, and many URLs
// reach one API server. Registering prod's cluster again under another URL is refused; and a
// second name that slipped in unidentified (registered while the cluster could not be reached)
// cannot deploy into prod's namespace: the worker reads what the cluster is before touching
// it, and nothing reaches the namespace.
func TestSameClusterUnderTwoNamesIsRefused(t *testing.T) {
	h := newHarness(t, "sqlite")
	ns := h.env("prod", 0)
	h.app("web", "", gatehouse.Hooks{}, gatehouse.Stage{Environment: "prod"})
	if d := h.wait("web", h.deploy("web", "prod", h.push("web", "")).ID); d.State != gatehouse.StateSucceeded {
		t.Fatalf("prod deployment %s: %s", d.State, d.Cause)
	}
	image, _ := deployedImage(t, 0, ns, "web")
	clustersSvc := sqlstore.NewClusterService(h.db)
	c0, err := clustersSvc.Cluster(h.ctx, "c0")
	h.must(err)
	if c0.Identity == "" {
		t.Fatal("cluster c0 is not identified after a deployment to it")
	}

	_, err = clustersSvc.CreateCluster(h.ctx, gatehouse.ClusterCreate{Name: "again", Kubeconfig: aliasOf(0)})
	if gatehouse.KindOf(err) != gatehouse.KindConflict || !strings.Contains(err.Error(), `same Kubernetes cluster as cluster "c0"`) {
		t.Fatalf("registering c0 again at another URL: %v, want a conflict naming c0", err)
	}

	// A name registered without being identified: as by a Gatehouse before identities, or
	// while the cluster did not answer (which cannot be made to happen for one call here).
	h.db.SetClusterIdentifier(nil)
	_, err = clustersSvc.CreateCluster(h.ctx, gatehouse.ClusterCreate{Name: "again", Kubeconfig: aliasOf(0)})
	h.must(err)
	h.db.SetClusterIdentifier(kubepkg.Identify)
	_, err = h.envs.CreateEnvironment(h.ctx, "p", gatehouse.EnvironmentCreate{Name: "dev", Cluster: "again", Namespace: ns})
	h.must(err)
	_, err = h.pipes.SetPipeline(h.ctx, "p", "web", gatehouse.PipelineSet{Stages: []gatehouse.Stage{{Environment: "dev"}, {Environment: "prod", After: "dev"}}})
	h.must(err)
	d := h.wait("web", h.deploy("web", "dev", h.push("web", "")).ID)
	want := `cluster "again" reaches the same Kubernetes cluster as cluster "c0"`
	if d.State != gatehouse.StateFailed || !strings.Contains(d.Cause, want) || d.HelmRevision != 0 {
		t.Fatalf("deployment through the second name: %s (revision %d), cause %q, want failed with %q\n%s", d.State, d.HelmRevision, d.Cause, want, events(d))
	}
	if now, _ := deployedImage(t, 0, ns, "web"); now != image {
		t.Fatalf("prod's namespace runs %s, deployed %s", now, image)
	}
}

// TestClusterKubeconfigCannotRepointEnvironments: a cluster's new kubeconfig may carry new
// credentials, or another URL of the same cluster, but not another cluster while environments
// live on it (that would move them all without the gated change a move takes).
func TestClusterKubeconfigCannotRepointEnvironments(t *testing.T) {
	h := newHarness(t, "sqlite")
	ns := h.env("prod", 1)
	h.app("web", "", gatehouse.Hooks{}, gatehouse.Stage{Environment: "prod"})
	clustersSvc := sqlstore.NewClusterService(h.db)
	kc0 := gatehouse.NewSecret(string(clusters[0].Kubeconfig()))
	_, err := clustersSvc.UpdateCluster(h.ctx, "c1", gatehouse.ClusterUpdate{Kubeconfig: &kc0})
	if gatehouse.KindOf(err) != gatehouse.KindPreconditionFailed || !strings.Contains(err.Error(), "hosts environments p/prod") {
		t.Fatalf("re-pointing c1 at c0: %v, want refused naming the environment", err)
	}
	// Another URL of the same cluster is the same cluster: its claims follow it.
	alias := aliasOf(1)
	c1, err := clustersSvc.UpdateCluster(h.ctx, "c1", gatehouse.ClusterUpdate{Kubeconfig: &alias})
	h.must(err)
	if !strings.HasPrefix(c1.Server, "https://localhost:") || c1.Identity == "" {
		t.Fatalf("c1 after a new URL of itself: server %s, identity %q", c1.Server, c1.Identity)
	}
	if d := h.wait("web", h.deploy("web", "prod", h.push("web", "")).ID); d.State != gatehouse.StateSucceeded {
		t.Fatalf("deployment after the new URL: %s: %s\n%s", d.State, d.Cause, events(d))
	}
	// The namespace claims follow the cluster to its new URL.
	var server string
	h.must(h.db.Raw().QueryRowContext(h.ctx, `SELECT server FROM namespace_claims WHERE namespace = $1`, ns).Scan(&server))
	if server != c1.Server {
		t.Fatalf("prod's namespace is claimed on %s, the cluster is at %s", server, c1.Server)
	}
}

// TestObserveClusterRefusesAnotherCluster: a cluster identified once that later answers as
// another (its server's name now leads elsewhere) takes no deployment.
func TestObserveClusterRefusesAnotherCluster(t *testing.T) {
	h := newIdleHarness(t, "sqlite")
	ctx := context.Background()
	h.must(h.db.ObserveCluster(ctx, "c0", "uid-a"))
	h.must(h.db.ObserveCluster(ctx, "c0", "uid-a"))
	err := h.db.ObserveCluster(ctx, "c0", "uid-b")
	if gatehouse.KindOf(err) != gatehouse.KindPreconditionFailed || !strings.Contains(err.Error(), "now answers as another Kubernetes cluster") {
		t.Fatalf("c0 answering as another cluster: %v", err)
	}
	err = h.db.ObserveCluster(ctx, "c1", "uid-a")
	if gatehouse.KindOf(err) != gatehouse.KindPreconditionFailed || !strings.Contains(err.Error(), `same Kubernetes cluster as cluster "c0"`) {
		t.Fatalf("c1 answering as c0: %v", err)
	}
}
