package kube

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/gatehousehq/gatehouse"
)

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

func pin(t *testing.T, charts *Charts, ref gatehouse.Chart) gatehouse.Chart {
	t.Helper()
	pinned, err := charts.Pin(context.Background(), ref)
	if err != nil {
		t.Fatalf("pin %+v: %v", ref, err)
	}
	if !digestRE.MatchString(pinned.Digest) {
		t.Fatalf("pinned digest %q", pinned.Digest)
	}
	return pinned
}

// refused checks that loading ref fails naming the chart, the digest found and the approved one.
func refused(t *testing.T, charts *Charts, ref gatehouse.Chart, chartVersion, found string) {
	t.Helper()
	ch, err := charts.Load(ref)
	want := chartVersion + " is " + found + ", but " + ref.Digest + " was approved: refusing to deploy it"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("load of a changed chart = %v, %v; want an error containing %q", ch, err, want)
	}
}

func TestFilesDigest(t *testing.T) {
	files := func(nameData ...string) []*chart.File {
		var out []*chart.File
		for i := 0; i < len(nameData); i += 2 {
			out = append(out, &chart.File{Name: nameData[i], Data: []byte(nameData[i+1])})
		}
		return out
	}
	base := filesDigest(files("Chart.yaml", "name: a", "templates/a.yaml", "x: 1"))
	if !digestRE.MatchString(base) {
		t.Fatalf("digest %q", base)
	}
	if got := filesDigest(files("templates/a.yaml", "x: 1", "Chart.yaml", "name: a")); got != base {
		t.Errorf("the order files were read in changed the digest")
	}
	for what, fs := range map[string][]*chart.File{
		"a changed byte":           files("Chart.yaml", "name: a", "templates/a.yaml", "x: 2"),
		"a renamed file":           files("Chart.yaml", "name: a", "templates/b.yaml", "x: 1"),
		"an added empty file":      files("Chart.yaml", "name: a", "templates/a.yaml", "x: 1", "NOTES.txt", ""),
		"a removed file":           files("Chart.yaml", "name: a"),
		"a byte moved across name": files("Chart.yaml", "name: a", "templates/a.yamlx", ": 1"),
	} {
		if filesDigest(fs) == base {
			t.Errorf("%s left the digest unchanged", what)
		}
	}
	if archiveDigest([]byte("abc")) != "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("archive digest is not the sha256 of the archive")
	}
}

// TestDirectoryChartDigest: an unchanged directory (subcharts included) pins the same digest
// every time; one changed template byte makes Load refuse, naming both digests.
func TestDirectoryChartDigest(t *testing.T) {
	dir := chartDir(t, "web", map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {a: \"1\"}\n"})
	write(t, filepath.Join(dir, "charts", "sub", "Chart.yaml"), "apiVersion: v2\nname: sub\nversion: 0.2.0\n")
	write(t, filepath.Join(dir, "charts", "sub", "templates", "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: sub}\n")
	charts := &Charts{CacheDir: t.TempDir()}
	ref := gatehouse.Chart{Source: gatehouse.ChartDirectory, Path: dir}
	pinned := pin(t, charts, ref)
	if again := pin(t, charts, ref); again != pinned || pinned.Version != "" || pinned.Path != dir {
		t.Fatalf("pinned %+v, then %+v", pinned, again)
	}
	if ch, err := charts.Load(pinned); err != nil || len(ch.Dependencies()) != 1 {
		t.Fatalf("load of the pinned directory: %v", err)
	}

	tmpl := filepath.Join(dir, "templates", "cm.yaml")
	orig, err := os.ReadFile(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	write(t, tmpl, strings.Replace(string(orig), `"1"`, `"2"`, 1))
	changed := pin(t, charts, ref).Digest
	if changed == pinned.Digest {
		t.Fatal("a changed template byte left the digest unchanged")
	}
	refused(t, charts, pinned, "chart web 0.1.0", changed)
	if _, err := charts.Load(ref); err != nil {
		t.Fatalf("without a digest the changed directory loads as before: %v", err)
	}
	write(t, tmpl, string(orig)) // the same bytes again: the same chart
	if _, err := charts.Load(pinned); err != nil {
		t.Fatalf("restored directory: %v", err)
	}

	write(t, filepath.Join(dir, "charts", "sub", "templates", "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: sub2}\n")
	if pin(t, charts, ref).Digest == pinned.Digest {
		t.Fatal("a changed subchart left the digest unchanged")
	}
}

// TestBuiltinChartDigest: the builtin chart pins one digest, and a pin of anything else is
// refused.
func TestBuiltinChartDigest(t *testing.T) {
	charts := &Charts{CacheDir: t.TempDir()}
	ref := gatehouse.Chart{Source: gatehouse.ChartBuiltin}
	pinned := pin(t, charts, ref)
	if again := pin(t, charts, ref); again != pinned {
		t.Fatalf("builtin pinned %s, then %s", pinned.Digest, again.Digest)
	}
	if _, err := charts.Load(pinned); err != nil {
		t.Fatal(err)
	}
	ch, _ := BuiltinChart()
	other := pinned
	other.Digest = "sha256:" + strings.Repeat("1", 64)
	refused(t, charts, other, "chart app "+ch.Metadata.Version, pinned.Digest)
}

// TestRepositoryChartPin: a chart from a Helm repository (a real HTTP server with index.yaml)
// pins the version newest now and the digest the index lists; a pinned chart replaced in the
// repository afterwards is refused.
func TestRepositoryChartPin(t *testing.T) {
	builtin, err := BuiltinChart()
	if err != nil {
		t.Fatal(err)
	}
	url, dir, idx := serveRepository(t, withVersion(builtin, "1.0.0"), withVersion(builtin, "1.1.0"))
	listed := func(version string) string {
		cv, err := idx.Get("app", version)
		if err != nil {
			t.Fatal(err)
		}
		return "sha256:" + cv.Digest
	}
	charts := &Charts{CacheDir: t.TempDir()}
	ref := gatehouse.Chart{Source: gatehouse.ChartRepository, URL: url, Name: "app"}
	newest := pin(t, charts, ref)
	if newest.Version != "1.1.0" || newest.Digest != listed("1.1.0") || newest.URL != url || newest.Name != "app" {
		t.Fatalf("pinned %+v, want version 1.1.0 with the index's digest %s", newest, listed("1.1.0"))
	}
	if older := pin(t, charts, gatehouse.Chart{Source: gatehouse.ChartRepository, URL: url, Name: "app", Version: "~1.0"}); older.Version != "1.0.0" || older.Digest != listed("1.0.0") {
		t.Fatalf("pinned the range ~1.0 as %+v", older)
	}

	// A newer version appears: the pin still loads what it pinned.
	if _, err := chartutil.Save(withVersion(builtin, "1.2.0"), dir); err != nil {
		t.Fatal(err)
	}
	idx = reindex(t, dir, url)
	if now := pin(t, charts, ref); now.Version != "1.2.0" {
		t.Fatalf("after 1.2.0 was published the newest pins as %s", now.Version)
	}
	if ch, err := charts.Load(newest); err != nil || ch.Metadata.Version != "1.1.0" {
		t.Fatalf("load of the pin: %v", err)
	}

	// 1.1.0 is replaced by other bytes under the same version.
	replaced := withVersion(builtin, "1.1.0")
	replaced.Files = append(replaced.Files, &chart.File{Name: "extra.txt", Data: []byte("x")})
	if _, err := chartutil.Save(replaced, dir); err != nil {
		t.Fatal(err)
	}
	idx = reindex(t, dir, url)
	refused(t, charts, newest, "chart app 1.1.0", listed("1.1.0"))
}

// TestOCIChartPin: a chart in an OCI registry (go-containerregistry's, in-process) pins the
// newest tag and the digest of the chart layer in its manifest; a tag pushed again with other
// bytes is refused.
func TestOCIChartPin(t *testing.T) {
	builtin, err := BuiltinChart()
	if err != nil {
		t.Fatal(err)
	}
	host := serveOCI(t, withVersion(builtin, "1.0.0"), withVersion(builtin, "1.1.0"))
	charts := &Charts{CacheDir: t.TempDir(), PlainHTTP: true}
	ref := gatehouse.Chart{Source: gatehouse.ChartOCI, URL: "oci://" + host + "/charts/app"}
	pinned := pin(t, charts, ref)
	if layer := chartLayer(t, host, "charts/app", "1.1.0"); pinned.Version != "1.1.0" || pinned.Digest != layer {
		t.Fatalf("pinned %+v, want version 1.1.0 with the layer digest %s", pinned, layer)
	}
	if ch, err := charts.Load(pinned); err != nil || ch.Metadata.Version != "1.1.0" {
		t.Fatalf("load of the pin: %v", err)
	}
	replaced := withVersion(builtin, "1.1.0")
	replaced.Files = append(replaced.Files, &chart.File{Name: "extra.txt", Data: []byte("x")})
	pushOCI(t, host, replaced)
	refused(t, charts, pinned, "chart app 1.1.0", chartLayer(t, host, "charts/app", "1.1.0"))
}
