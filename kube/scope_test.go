package kube

import (
	"context"
	"errors"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/release"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestObjectScopeAllows(t *testing.T) {
	cm := func(ns string) placed { return placed{kind: "ConfigMap", name: "cm", namespace: ns} }
	cr := placed{kind: "ClusterRole", name: "reader", clusterScoped: true}
	none, wide := ObjectScope{}, ObjectScope{AllowClusterScoped: true, AllowNamespaces: []string{"other", "monitoring"}}
	cases := []struct {
		scope ObjectScope
		obj   placed
		err   string // "" when allowed
	}{
		{none, cm("shop"), ""},
		{none, cm("other"), "release web: ConfigMap cm in namespace other, from the manifest, is outside what the environment allows (objects in namespace shop and no cluster-scoped objects)"},
		{none, cr, "release web: ClusterRole reader (cluster-scoped), from the manifest, is outside what the environment allows (objects in namespace shop and no cluster-scoped objects)"},
		{ObjectScope{AllowNamespaces: []string{"other"}}, cm("other"), ""},
		{ObjectScope{AllowNamespaces: []string{"other"}}, cr, "(objects in namespaces shop, other and no cluster-scoped objects)"},
		{ObjectScope{AllowClusterScoped: true}, cr, ""},
		{ObjectScope{AllowClusterScoped: true}, cm("kube-system"), "ConfigMap cm in namespace kube-system, from the manifest, is outside what the environment allows (objects in namespace shop and cluster-scoped objects)"},
		{wide, cm("monitoring"), ""},
		{wide, cm("shop"), ""},
		{wide, cm("other2"), "in namespace other2"},
	}
	for _, c := range cases {
		err := c.scope.allows("web", "shop", "the manifest", c.obj)
		var se *ScopeError
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%+v in %+v refused: %v", c.obj, c.scope, err)
		case c.err != "" && (!errors.As(err, &se) || !strings.Contains(err.Error(), c.err) || !IsInvalid(err)):
			t.Errorf("%+v in %+v: %v, want a ScopeError containing %q", c.obj, c.scope, err, c.err)
		}
	}
}

const (
	configMap   = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata: {a: \"1\"}\n"
	clusterRole = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {{ .Release.Name }}-reader\nrules: []\n"
	otherNS     = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-elsewhere\n  namespace: other\n"
	clusterHook = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {{ .Release.Name }}-hook\n" +
		"  annotations:\n    helm.sh/hook: post-install,post-upgrade\nrules: []\n"
	crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n" +
		"spec:\n  group: example.com\n  scope: Namespaced\n  names: {plural: widgets, singular: widget, kind: Widget}\n" +
		"  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]\n"
)

// TestApplyRefusesObjectsOutsideScope: on a real API server, a release holding a cluster-scoped
// object or an object in another namespace — in its manifest, a Helm hook or crds/ — is
// refused before anything of it exists, on install and on upgrade, unless its scope allows it.
func TestApplyRefusesObjectsOutsideScope(t *testing.T) {
	conn := connect(t)
	ctx := context.Background()
	// Each case has a release name of its own: the names of cluster-scoped objects follow it.
	apply := func(t *testing.T, name string, scope ObjectScope, templates map[string]string) (*Applied, error) {
		t.Helper()
		ch, err := loader.Load(chartDir(t, "web", templates))
		if err != nil {
			t.Fatal(err)
		}
		return conn.Apply(ctx, Release{Name: name, Namespace: "ns-" + name, Chart: ch, Scope: scope})
	}
	refusedWith := func(t *testing.T, err error, want ...string) {
		t.Helper()
		var se *ScopeError
		if !errors.As(err, &se) || !IsInvalid(err) {
			t.Fatalf("apply = %v, want a ScopeError", err)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Fatalf("apply = %v, want it to say %q", err, w)
			}
		}
	}
	nothingOf := func(t *testing.T, name string) {
		t.Helper()
		if st, _, err := conn.ReleaseStatus(ctx, "ns-"+name, name); err != nil || st != "" {
			t.Fatalf("a refused install left release status %q (%v)", st, err)
		}
		if exists(t, conn, configMaps, "ns-"+name, name+"-cm") || exists(t, conn, clusterRoles, "", name+"-reader") || exists(t, conn, clusterRoles, "", name+"-hook") {
			t.Fatal("a refused release left objects behind")
		}
	}

	t.Run("cluster-scoped", func(t *testing.T) {
		_, err := apply(t, "cluster", ObjectScope{}, map[string]string{"cm.yaml": configMap, "role.yaml": clusterRole})
		refusedWith(t, err, "release cluster: ClusterRole cluster-reader (cluster-scoped), from the manifest", "objects in namespace ns-cluster and no cluster-scoped objects")
		nothingOf(t, "cluster")
		if _, err := apply(t, "cluster", ObjectScope{AllowClusterScoped: true}, map[string]string{"cm.yaml": configMap, "role.yaml": clusterRole}); err != nil {
			t.Fatalf("allowed cluster-scoped object: %v", err)
		}
		if !exists(t, conn, clusterRoles, "", "cluster-reader") {
			t.Fatal("the allowed ClusterRole was not created")
		}
	})

	t.Run("other namespace", func(t *testing.T) {
		_, err := apply(t, "ns", ObjectScope{}, map[string]string{"cm.yaml": configMap, "other.yaml": otherNS})
		refusedWith(t, err, "ConfigMap ns-elsewhere in namespace other, from the manifest", "objects in namespace ns-ns and no")
		nothingOf(t, "ns")
		if err := conn.EnsureNamespace(ctx, "other"); err != nil {
			t.Fatal(err)
		}
		if _, err := apply(t, "ns", ObjectScope{AllowNamespaces: []string{"other"}}, map[string]string{"cm.yaml": configMap, "other.yaml": otherNS}); err != nil {
			t.Fatalf("allowed namespace: %v", err)
		}
		if !exists(t, conn, configMaps, "other", "ns-elsewhere") {
			t.Fatal("the ConfigMap in the allowed namespace was not created")
		}
	})

	t.Run("hook", func(t *testing.T) {
		// A post-install hook: without the gate, Helm would create the ConfigMap first.
		_, err := apply(t, "hook", ObjectScope{}, map[string]string{"cm.yaml": configMap, "hook.yaml": clusterHook})
		refusedWith(t, err, "ClusterRole hook-hook (cluster-scoped), from hook web/templates/hook.yaml")
		nothingOf(t, "hook")
	})

	t.Run("crds", func(t *testing.T) {
		dir := chartDir(t, "web", map[string]string{"cm.yaml": configMap})
		write(t, dir+"/crds/widgets.yaml", crd)
		ch, err := loader.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		_, err = conn.Apply(ctx, Release{Name: "crd", Namespace: "ns-crd", Chart: ch})
		refusedWith(t, err, "CustomResourceDefinition widgets.example.com (cluster-scoped), from web/crds/widgets.yaml")
		nothingOf(t, "crd")
		if exists(t, conn, crds, "", "widgets.example.com") {
			t.Fatal("the refused CRD was created")
		}
	})

	t.Run("upgrade", func(t *testing.T) {
		first, err := apply(t, "up", ObjectScope{}, map[string]string{"cm.yaml": configMap})
		if err != nil {
			t.Fatal(err)
		}
		for what, templates := range map[string]map[string]string{
			"manifest": {"cm.yaml": configMap, "role.yaml": clusterRole},
			"hook":     {"cm.yaml": configMap, "hook.yaml": clusterHook},
		} {
			_, err := apply(t, "up", ObjectScope{}, templates)
			refusedWith(t, err, "(cluster-scoped)")
			st, rev, serr := conn.ReleaseStatus(ctx, "ns-up", "up")
			if serr != nil || st != release.StatusDeployed || rev != first.Revision {
				t.Fatalf("%s: a refused upgrade left the release %s at revision %d (%v)", what, st, rev, serr)
			}
			if exists(t, conn, clusterRoles, "", "up-reader") || exists(t, conn, clusterRoles, "", "up-hook") {
				t.Fatalf("%s: a refused upgrade created its ClusterRole", what)
			}
		}
	})
}

// exists reports whether the cluster holds the object (ns "" for a cluster-scoped one).
func exists(t *testing.T, conn *Conn, gvr schema.GroupVersionResource, ns, name string) bool {
	t.Helper()
	_, err := conn.dynamic.Resource(gvr).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false
	} else if err != nil {
		t.Fatalf("read %s %s/%s: %v", gvr.Resource, ns, name, err)
	}
	return true
}

var (
	clusterRoles = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}
	configMaps   = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	crds         = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)
