package worker_test

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gatehousehq/gatehouse"
)

// TestDeployRefusesObjectsOutsideTheEnvironment: a chart with a cluster-scoped object fails
// the deployment with a cause that names the object and what the environment allows, and the
// object never reaches the cluster.
func TestDeployRefusesObjectsOutsideTheEnvironment(t *testing.T) {
	h := newHarness(t, "sqlite")
	ns := h.env("dev", 0)
	role := "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {{ .Release.Namespace }}-reader\nrules: []\n"
	dir := chartDir(t, map[string]string{"cm.yaml": configMap, "role.yaml": role})
	h.createApp(gatehouse.AppCreate{Name: "web", Chart: gatehouse.Chart{Source: gatehouse.ChartDirectory, Path: dir}},
		gatehouse.Stage{Environment: "dev"})
	d := h.wait("web", h.deploy("web", "dev", h.push("web", "")).ID)
	want := "ClusterRole " + ns + "-reader (cluster-scoped), from the manifest, is outside what the environment allows (objects in namespace " + ns + " and no cluster-scoped objects)"
	if d.State != gatehouse.StateFailed || !strings.Contains(d.Cause, want) || d.HelmRevision != 0 {
		t.Fatalf("deployment %s (revision %d) with cause %q, want failed with %q\n%s", d.State, d.HelmRevision, d.Cause, want, events(d))
	}
	if strings.Contains(events(d), "retrying") {
		t.Fatalf("a refused release was retried:\n%s", events(d))
	}
	if _, err := kube(t, 0).RbacV1().ClusterRoles().Get(context.Background(), ns+"-reader", metav1.GetOptions{}); err == nil {
		t.Fatal("the refused ClusterRole exists")
	}
	if _, err := kube(t, 0).CoreV1().ConfigMaps(ns).Get(context.Background(), "web", metav1.GetOptions{}); err == nil {
		t.Fatal("the refused release's ConfigMap exists")
	}
	// Once the environment allows cluster-scoped objects (nothing protects it here, so the
	// change is direct), its next deployment carries that and goes through.
	yes := true
	_, err := h.envs.UpdateEnvironment(h.ctx, "p", "dev", gatehouse.EnvironmentUpdate{AllowClusterScoped: &yes})
	h.must(err)
	if d := h.wait("web", h.deploy("web", "dev", h.push("web", "allowed")).ID); d.State != gatehouse.StateSucceeded {
		t.Fatalf("deployment %s: %s\n%s", d.State, d.Cause, events(d))
	}
	if _, err := kube(t, 0).RbacV1().ClusterRoles().Get(context.Background(), ns+"-reader", metav1.GetOptions{}); err != nil {
		t.Fatalf("the allowed ClusterRole: %v", err)
	}
}
