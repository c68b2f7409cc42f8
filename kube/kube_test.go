package kube

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/release"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testbed"
)

func connect(t *testing.T) *Conn {
	c := testbed.StartT(t, testbed.Options{Nodes: 1})
	conn, err := Connect("test", c.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

func values(digest string) map[string]any {
	return map[string]any{"replicas": 2, "image": map[string]any{"repository": "registry.example.com/web", "digest": digest}}
}

const (
	d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	d2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

// TestRecoverPendingRelease: a release an interrupted worker left pending-upgrade would block
// Helm ("another operation is in progress"); Apply marks it failed first, says so, and
// upgrades; over a deployed release it recovers nothing.
func TestRecoverPendingRelease(t *testing.T) {
	conn := connect(t)
	ctx := context.Background()
	ch, err := BuiltinChart()
	if err != nil {
		t.Fatal(err)
	}
	applied, err := conn.Apply(ctx, Release{Name: "web", Namespace: "shop", Chart: ch, Values: values(d1)})
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.WaitReady(ctx, "shop", applied.Manifest, 30*time.Second, nil); err != nil {
		t.Fatal(err)
	}
	cfg, err := conn.helm("shop")
	if err != nil {
		t.Fatal(err)
	}
	last, err := cfg.Releases.Last("web")
	if err != nil {
		t.Fatal(err)
	}
	last.SetStatus(release.StatusPendingUpgrade, "interrupted")
	if err := cfg.Releases.Update(last); err != nil {
		t.Fatal(err)
	}
	applied, err = conn.Apply(ctx, Release{Name: "web", Namespace: "shop", Chart: ch, Values: values(d2)})
	if err != nil || !applied.Recovered {
		t.Fatalf("apply over a pending release: %+v, %v; want it recovered and applied", applied, err)
	}
	if again, err := conn.Apply(ctx, Release{Name: "web", Namespace: "shop", Chart: ch, Values: values(d1)}); err != nil || again.Recovered {
		t.Fatalf("apply over a deployed release: %+v, %v; want no recovery", again, err)
	}
	st, rev, err := conn.ReleaseStatus(ctx, "shop", "web")
	if err != nil || st != release.StatusDeployed || rev != applied.Revision+1 || rev != 3 {
		t.Fatalf("release status %s revision %d (%v)", st, rev, err)
	}
	// Bad values are refused by the chart's schema: an error that says retrying won't help.
	_, err = conn.Apply(ctx, Release{Name: "web", Namespace: "shop", Chart: ch, Values: map[string]any{"replicas": "many", "image": values(d1)["image"]}})
	if err == nil || !IsInvalid(err) {
		t.Fatalf("schema violation = %v (invalid %v)", err, err != nil && IsInvalid(err))
	}
}

// TestChartSources pins the same chart from a directory, a Helm repository (served over HTTP)
// and an OCI registry (a real registry on loopback), loads each pin and installs it.
func TestChartSources(t *testing.T) {
	conn := connect(t)
	ctx := context.Background()
	builtin, err := BuiltinChart()
	if err != nil {
		t.Fatal(err)
	}
	app := withVersion(builtin, "1.0.0")
	unpacked := filepath.Join(t.TempDir(), "app")
	if err := chartutil.SaveDir(app, filepath.Dir(unpacked)); err != nil {
		t.Fatal(err)
	}
	repoURL, _, _ := serveRepository(t, app)
	host := serveOCI(t, app)
	charts := &Charts{CacheDir: t.TempDir(), PlainHTTP: true}
	for name, ref := range map[string]gatehouse.Chart{
		"dir":  {Source: gatehouse.ChartDirectory, Path: unpacked},
		"repo": {Source: gatehouse.ChartRepository, URL: repoURL, Name: "app", Version: "1.0.0"},
		"oci":  {Source: gatehouse.ChartOCI, URL: "oci://" + host + "/charts/app", Version: "1.0.0"},
	} {
		ch, err := charts.Load(pin(t, charts, ref))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if ch.Metadata.Name != "app" || ch.Metadata.Version != "1.0.0" {
			t.Fatalf("%s: loaded %s %s", name, ch.Metadata.Name, ch.Metadata.Version)
		}
		applied, err := conn.Apply(ctx, Release{Name: "web", Namespace: "from-" + name, Chart: ch, Values: values(d1)})
		if err != nil {
			t.Fatalf("%s: apply: %v", name, err)
		}
		if err := conn.WaitReady(ctx, "from-"+name, applied.Manifest, 30*time.Second, nil); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := charts.Load(gatehouse.Chart{Source: gatehouse.ChartRepository, URL: repoURL, Name: "nope"}); err == nil {
		t.Fatal("a chart missing from the repository loaded")
	}
}
