package kube

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	helmregistry "helm.sh/helm/v3/pkg/registry"
	"helm.sh/helm/v3/pkg/repo"
)

// chartDir writes a chart directory named name with the templates (file name → content) and
// returns its path.
func chartDir(t *testing.T, name string, templates map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	write(t, filepath.Join(dir, "Chart.yaml"), "apiVersion: v2\nname: "+name+"\nversion: 0.1.0\n")
	for f, content := range templates {
		write(t, filepath.Join(dir, "templates", f), content)
	}
	return dir
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// withVersion is a copy of ch (the builtin chart) at another version with one more (non-template)
// file, so each version's archive differs.
func withVersion(ch *chart.Chart, version string) *chart.Chart {
	c := *ch
	md := *ch.Metadata
	md.Version = version
	c.Metadata = &md
	c.Files = append(append([]*chart.File(nil), ch.Files...), &chart.File{Name: "version.txt", Data: []byte(version)})
	return &c
}

// packaged saves each chart as a .tgz into a new directory and returns it with the archives.
func packaged(t *testing.T, charts ...*chart.Chart) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	var files []string
	for _, ch := range charts {
		f, err := chartutil.Save(ch, dir)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return dir, files
}

// serveRepository serves the charts as a Helm repository (index.yaml and the archives) from a
// real HTTP server and returns its URL, its directory and the index.
func serveRepository(t *testing.T, charts ...*chart.Chart) (string, string, *repo.IndexFile) {
	t.Helper()
	dir, _ := packaged(t, charts...)
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)
	return srv.URL, dir, reindex(t, dir, srv.URL)
}

// reindex writes the repository's index.yaml anew from the archives in dir.
func reindex(t *testing.T, dir, url string) *repo.IndexFile {
	t.Helper()
	idx, err := repo.IndexDirectory(dir, url)
	if err != nil {
		t.Fatal(err)
	}
	if err := idx.WriteFile(filepath.Join(dir, "index.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	return idx
}

// serveOCI runs a real OCI registry (go-containerregistry's) on loopback, pushes the charts to
// it (see pushOCI) and returns its HOST.
func serveOCI(t *testing.T, charts ...*chart.Chart) string {
	t.Helper()
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(reg.Close)
	host := strings.TrimPrefix(reg.URL, "http://")
	pushOCI(t, host, charts...)
	return host
}

// pushOCI pushes the charts with the Helm SDK to HOST/charts/NAME:VERSION.
func pushOCI(t *testing.T, host string, charts ...*chart.Chart) {
	t.Helper()
	rc, err := helmregistry.NewClient(helmregistry.ClientOptPlainHTTP())
	if err != nil {
		t.Fatal(err)
	}
	_, files := packaged(t, charts...)
	for i, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ref := host + "/charts/" + charts[i].Name() + ":" + charts[i].Metadata.Version
		if _, err := rc.Push(data, ref); err != nil {
			t.Fatalf("push chart %s to the registry: %v", ref, err)
		}
	}
}

// chartLayer reads the manifest of an OCI chart from the registry by the distribution API
// (plain HTTP, not Helm) and returns the digest of its chart layer.
func chartLayer(t *testing.T, host, repository, tag string) string {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+host+"/v2/"+repository+"/manifests/"+tag, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	m, err := v1.ParseManifest(resp.Body)
	if err != nil {
		t.Fatalf("manifest of %s:%s (%s): %v", repository, tag, resp.Status, err)
	}
	for _, l := range m.Layers {
		if string(l.MediaType) == helmregistry.ChartLayerMediaType {
			return l.Digest.String()
		}
	}
	t.Fatalf("manifest of %s:%s has no chart layer: %+v", repository, tag, m)
	return ""
}
