package worker_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gatehousehq/gatehouse"
	gkube "github.com/gatehousehq/gatehouse/kube"
)

// chartDir writes a chart directory "web" with the templates (file name → content).
func chartDir(t *testing.T, templates map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "web")
	files := map[string]string{"Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n"}
	for f, content := range templates {
		files[filepath.Join("templates", f)] = content
	}
	for f, content := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const configMap = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {greeting: hello}\n"

// TestDeployRefusesAChangedChart: an app pinned to a chart's digest deploys it; once one byte
// of the chart changes, the next deployment fails naming both digests and applies nothing.
func TestDeployRefusesAChangedChart(t *testing.T) {
	h := newHarness(t, "sqlite")
	ns := h.env("dev", 0)
	dir := chartDir(t, map[string]string{"cm.yaml": configMap})
	pinned, err := (&gkube.Charts{CacheDir: t.TempDir()}).Pin(h.ctx, gatehouse.Chart{Source: gatehouse.ChartDirectory, Path: dir})
	h.must(err)
	h.createApp(gatehouse.AppCreate{Name: "web", Chart: pinned}, gatehouse.Stage{Environment: "dev"})
	if d := h.wait("web", h.deploy("web", "dev", h.push("web", "")).ID); d.State != gatehouse.StateSucceeded {
		t.Fatalf("deployment of the pinned chart: %s %q\n%s", d.State, d.Cause, events(d))
	}

	if err := os.WriteFile(filepath.Join(dir, "templates", "cm.yaml"), []byte(strings.Replace(configMap, "hello", "hellO", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	changed, err := (&gkube.Charts{CacheDir: t.TempDir()}).Pin(h.ctx, gatehouse.Chart{Source: gatehouse.ChartDirectory, Path: dir})
	h.must(err)
	d := h.wait("web", h.deploy("web", "dev", h.push("web", "")).ID)
	want := "chart web 0.1.0 is " + changed.Digest + ", but " + pinned.Digest + " was approved: refusing to deploy it"
	if d.State != gatehouse.StateFailed || !strings.Contains(d.Cause, want) || d.HelmRevision != 0 {
		t.Fatalf("deployment of a changed chart: %s (revision %d) %q, want failed with %q\n%s", d.State, d.HelmRevision, d.Cause, want, events(d))
	}
	cm, err := kube(t, 0).CoreV1().ConfigMaps(ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil || cm.Data["greeting"] != "hello" {
		t.Fatalf("the cluster's ConfigMap after the refusal: %v %v", cm.Data, err)
	}
}
