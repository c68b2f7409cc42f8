package kube

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	helmkube "helm.sh/helm/v3/pkg/kube"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
)

// ObjectScope is where a release's objects may be. The zero value allows namespaced objects
// in the release's own namespace and nothing else.
type ObjectScope struct {
	// AllowClusterScoped lets the release hold cluster-scoped objects (ClusterRoles, CRDs,
	// Namespaces, webhooks…).
	AllowClusterScoped bool
	// AllowNamespaces are namespaces besides the release's own that its objects may name.
	AllowNamespaces []string
}

// ScopeError says a rendered release holds an object its environment's ObjectScope does not
// allow. Retrying does not help: IsInvalid reports true.
type ScopeError struct {
	Release   string
	Where     string // "the manifest", "hook web/templates/job.yaml", "crds/crd.yaml"
	Kind      string
	Name      string
	Namespace string // "" for a cluster-scoped object
	Allowed   string // what the environment allows, in words
}

func (e *ScopeError) Error() string {
	obj := e.Kind + " " + e.Name + " (cluster-scoped)"
	if e.Namespace != "" {
		obj = e.Kind + " " + e.Name + " in namespace " + e.Namespace
	}
	return fmt.Sprintf("release %s: %s, from %s, is outside what the environment allows (%s): refusing to apply the release",
		e.Release, obj, e.Where, e.Allowed)
}

// placed is what the scope rule looks at in one object Helm would create.
type placed struct {
	kind, name, namespace string
	clusterScoped         bool
}

// allows reports as a *ScopeError why o may not be in release rel of namespace ns, or nil.
func (s ObjectScope) allows(rel, ns, where string, o placed) error {
	switch {
	case o.clusterScoped && s.AllowClusterScoped:
		return nil
	case !o.clusterScoped && (o.namespace == ns || slices.Contains(s.AllowNamespaces, o.namespace)):
		return nil
	}
	e := &ScopeError{Release: rel, Where: where, Kind: o.kind, Name: o.name, Allowed: s.describe(ns)}
	if !o.clusterScoped {
		e.Namespace = o.namespace
	}
	return e
}

// describe says in words what s allows a release in namespace ns.
func (s ObjectScope) describe(ns string) string {
	nss := append([]string{ns}, s.AllowNamespaces...)
	words := "objects in namespace " + ns
	if len(nss) > 1 {
		words = "objects in namespaces " + strings.Join(nss, ", ")
	}
	if s.AllowClusterScoped {
		return words + " and cluster-scoped objects"
	}
	return words + " and no cluster-scoped objects"
}

// check refuses the first object of manifest (YAML documents) that s does not allow. It builds
// the objects as Helm does (lists flattened, the release's namespace filled in where none is
// given) and takes each one's scope from the cluster's REST mapping, so a kind the cluster
// does not know is an error here too.
func (s ObjectScope) check(kc helmkube.Interface, rel, ns, where, manifest string) error {
	infos, err := kc.Build(bytes.NewBufferString(manifest), false)
	if err != nil {
		return fmt.Errorf("release %s: unable to build kubernetes objects from %s: %w", rel, where, err)
	}
	for _, info := range infos {
		o := placed{name: info.Name, namespace: info.Namespace, clusterScoped: !info.Namespaced()}
		if gvk := info.Object.GetObjectKind().GroupVersionKind(); gvk.Kind != "" {
			o.kind = gvk.Kind
		} else if info.Mapping != nil {
			o.kind = info.Mapping.GroupVersionKind.Kind
		}
		if err := s.allows(rel, ns, where, o); err != nil {
			return err
		}
	}
	return nil
}

// checkRelease checks everything of rel that Helm creates: its manifest and every hook's.
func (s ObjectScope) checkRelease(kc helmkube.Interface, rel *release.Release) error {
	if err := s.check(kc, rel.Name, rel.Namespace, "the manifest", rel.Manifest); err != nil {
		return err
	}
	for _, h := range rel.Hooks {
		if err := s.check(kc, rel.Name, rel.Namespace, "hook "+h.Path, h.Manifest); err != nil {
			return err
		}
	}
	return nil
}

// checkCRDs checks the CustomResourceDefinitions of a chart's crds/ directories, which Helm
// creates on install before it renders anything else.
func (s ObjectScope) checkCRDs(kc helmkube.Interface, rel, ns string, ch *chart.Chart) error {
	for _, crd := range ch.CRDObjects() {
		if err := s.check(kc, rel, ns, crd.Filename, string(crd.File.Data)); err != nil {
			return err
		}
	}
	return nil
}

// scopeGate is the release storage an Apply hands Helm: it refuses to record a release that
// holds an object outside scope.
//
// Why here: Helm's install and upgrade record the new release (Storage.Create) after rendering
// it, with its complete manifest and every hook's, and before they create any object (the
// CRDs of crds/ aside, which Apply checks first): hooks run, and the manifest is applied, only
// after this write. A wrapped KubeClient.Build sees hooks only when each runs, after earlier
// hooks and the release record exist, and also sees the previous release's objects on an
// upgrade; a PostRenderer (Helm 3) sees the manifest but not the hooks.
type scopeGate struct {
	driver.Driver
	scope ObjectScope
	kube  helmkube.Interface
}

func (g scopeGate) Create(key string, rel *release.Release) error {
	if err := g.scope.checkRelease(g.kube, rel); err != nil {
		return err
	}
	return g.Driver.Create(key, rel)
}
