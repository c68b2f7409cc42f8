package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
)

// Release is what a deployment applies: a chart with values as a named release in a namespace,
// whose objects must stay within Scope.
type Release struct {
	Name      string
	Namespace string
	Chart     *chart.Chart
	Values    map[string]any
	Scope     ObjectScope
	// Deployment names what this apply carries (a Gatehouse deployment id); each revision is
	// labelled with it, so a retry of the same deployment can find its own revision.
	Deployment string
}

// DeploymentLabel is the Helm release label naming the deployment a revision carries.
const DeploymentLabel = "gatehouse.dev/deployment"

// Applied is a release revision Helm recorded.
type Applied struct {
	Revision int
	Manifest string
	// Already reports that the revision was there before this call: an earlier try of the same
	// deployment applied it and stopped before saying so.
	Already bool
	// Recovered reports that the release's last revision was left pending by an interrupted
	// Helm action and was marked failed so this apply could go ahead.
	Recovered bool
}

func (c *Conn) helm(namespace string) (*action.Configuration, error) {
	cfg := new(action.Configuration)
	logf := func(format string, v ...any) {
		slog.Debug(fmt.Sprintf(format, v...), "cluster", c.Name, "namespace", namespace)
	}
	if err := cfg.Init(getter{conn: c, namespace: namespace}, namespace, "secret", logf); err != nil {
		return nil, fmt.Errorf("helm on cluster %s: %w", c.Name, err)
	}
	return cfg, nil
}

// recoverPending makes a release that an interrupted Helm action left pending-install,
// pending-upgrade or pending-rollback usable again by marking that revision failed, so the
// next upgrade goes ahead. It reports whether it changed anything.
func recoverPending(cfg *action.Configuration, last *release.Release) (bool, error) {
	if !last.Info.Status.IsPending() {
		return false, nil
	}
	last.SetStatus(release.StatusFailed, "interrupted: the Gatehouse worker running it stopped; recovered by the next worker")
	if err := cfg.Releases.Update(last); err != nil {
		return false, fmt.Errorf("recover release %s: %w", last.Name, err)
	}
	return true, nil
}

// Apply installs or upgrades the release without Helm's own waiting (readiness is watched
// separately, by events rather than Helm's 2-second polling).
//
// A rendered release holding an object outside r.Scope — in its manifest, in a Helm hook, or
// among the CRDs an install creates — is refused with a *ScopeError before Helm records the
// release or creates any object (the release's namespace aside). Errors for which IsInvalid
// reports true will not go away by retrying. A last revision left pending by an interrupted
// apply is marked failed first (see Applied.Recovered): the caller holds the deployment's
// lease, so no other apply of the release is under way.
func (c *Conn) Apply(ctx context.Context, r Release) (*Applied, error) {
	cfg, err := c.helm(r.Namespace)
	if err != nil {
		return nil, err
	}
	// Helm records the release, rendered in full, before it creates any of its objects.
	cfg.Releases.Driver = scopeGate{Driver: cfg.Releases.Driver, scope: r.Scope, kube: cfg.KubeClient}
	// One read of the release history serves the recovery, the retry check and (below) the
	// choice between install and upgrade: with a thousand releases in a namespace, each read
	// is a list the API server filters over all of their records.
	last, err := cfg.Releases.Last(r.Name)
	if err == nil && r.Deployment != "" && last.Labels[DeploymentLabel] == r.Deployment && last.Info.Status == release.StatusDeployed {
		// Applying again would make a second revision of one deployment.
		return &Applied{Revision: last.Version, Manifest: last.Manifest, Already: true}, nil
	}
	var recovered bool
	if err == nil {
		if recovered, err = recoverPending(cfg, last); err != nil {
			return nil, err
		}
	}
	var labels map[string]string
	if r.Deployment != "" {
		labels = map[string]string{DeploymentLabel: r.Deployment}
	}
	var rel *release.Release
	switch {
	case errors.Is(err, driver.ErrReleaseNotFound):
		// Helm creates the chart's CRDs first thing on install, before the gate sees anything.
		if err := r.Scope.checkCRDs(cfg.KubeClient, r.Name, r.Namespace, r.Chart); err != nil {
			return nil, err
		}
		// Helm's own CreateNamespace validates the namespace against the server's OpenAPI
		// document, downloaded and parsed anew for every install; creating it here is cheaper.
		if err := c.EnsureNamespace(ctx, r.Namespace); err != nil {
			return nil, err
		}
		in := action.NewInstall(cfg)
		in.ReleaseName, in.Namespace, in.Labels = r.Name, r.Namespace, labels
		// The API server validates objects itself; Helm's client-side check downloads the
		// whole OpenAPI document on every call.
		in.DisableOpenAPIValidation = true
		rel, err = in.RunWithContext(ctx, r.Chart, r.Values)
	case err != nil:
		return nil, fmt.Errorf("release %s: %w", r.Name, err)
	default:
		up := action.NewUpgrade(cfg)
		up.Namespace, up.MaxHistory, up.DisableOpenAPIValidation, up.Labels = r.Namespace, 20, true, labels
		rel, err = up.RunWithContext(ctx, r.Name, r.Chart, r.Values)
	}
	if err != nil {
		return nil, fmt.Errorf("apply release %s: %w", r.Name, err)
	}
	return &Applied{Revision: rel.Version, Manifest: rel.Manifest, Recovered: recovered}, nil
}

// Rollback returns the release to an earlier revision (as a new revision) and returns it.
func (c *Conn) Rollback(ctx context.Context, namespace, name string, revision int) (*Applied, error) {
	cfg, err := c.helm(namespace)
	if err != nil {
		return nil, err
	}
	rb := action.NewRollback(cfg)
	rb.Version, rb.MaxHistory = revision, 20
	if err := rb.Run(name); err != nil {
		return nil, fmt.Errorf("roll back release %s to revision %d: %w", name, revision, err)
	}
	last, err := cfg.Releases.Last(name)
	if err != nil {
		return nil, fmt.Errorf("release %s after rollback: %w", name, err)
	}
	return &Applied{Revision: last.Version, Manifest: last.Manifest}, nil
}

// ReleaseStatus returns the status of a release's last revision ("" when there is none).
func (c *Conn) ReleaseStatus(ctx context.Context, namespace, name string) (release.Status, int, error) {
	cfg, err := c.helm(namespace)
	if err != nil {
		return "", 0, err
	}
	last, err := cfg.Releases.Last(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return "", 0, nil
	} else if err != nil {
		return "", 0, fmt.Errorf("release %s: %w", name, err)
	}
	return last.Info.Status, last.Version, nil
}

// Revision is one revision of a release as Helm keeps it.
type Revision struct {
	Version int
	Status  release.Status
	// Deployment is the Gatehouse deployment it carries (DeploymentLabel), "" when none.
	Deployment string
}

// Revisions lists the revisions Helm keeps of a release, oldest first.
func (c *Conn) Revisions(ctx context.Context, namespace, name string) ([]Revision, error) {
	cfg, err := c.helm(namespace)
	if err != nil {
		return nil, err
	}
	rels, err := cfg.Releases.History(name)
	if err != nil && !errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, fmt.Errorf("release %s history: %w", name, err)
	}
	out := make([]Revision, 0, len(rels))
	for _, r := range rels {
		out = append(out, Revision{Version: r.Version, Status: r.Info.Status, Deployment: r.Labels[DeploymentLabel]})
	}
	slices.SortFunc(out, func(a, b Revision) int { return a.Version - b.Version })
	return out, nil
}

// Manifest returns the manifest Helm recorded for a release revision.
func (c *Conn) Manifest(ctx context.Context, namespace, name string, revision int) (string, error) {
	cfg, err := c.helm(namespace)
	if err != nil {
		return "", err
	}
	rel, err := cfg.Releases.Get(name, revision)
	if err != nil {
		return "", fmt.Errorf("release %s revision %d: %w", name, revision, err)
	}
	return rel.Manifest, nil
}

// IsInvalid reports whether err says the chart or values are wrong (templates fail to render,
// values fail the schema, an object is outside the release's scope, the API server rejects the
// objects): retrying will not help.
func IsInvalid(err error) bool {
	var scope *ScopeError
	if errors.As(err, &scope) {
		return true
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		code := status.Status().Code
		return code == 400 || code == 422
	}
	msg := err.Error()
	return strings.Contains(msg, "parse error") || strings.Contains(msg, "values don't meet the specifications") ||
		strings.Contains(msg, "execution error") || strings.Contains(msg, "unable to build kubernetes objects")
}
