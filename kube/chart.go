package kube

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/cli"
	"helm.sh/helm/v3/pkg/registry"

	"github.com/gatehousehq/gatehouse"
)

//go:embed all:charts/app
var builtinChart embed.FS

var (
	builtinOnce   sync.Once
	builtinLoaded *chart.Chart
	builtinErr    error
)

// BuiltinChart returns Gatehouse's own "app" chart.
func BuiltinChart() (*chart.Chart, error) {
	builtinOnce.Do(func() {
		var files []*loader.BufferedFile
		builtinErr = fs.WalkDir(builtinChart, "charts/app", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := builtinChart.ReadFile(p)
			if err != nil {
				return err
			}
			files = append(files, &loader.BufferedFile{Name: strings.TrimPrefix(p, "charts/app/"), Data: b})
			return nil
		})
		if builtinErr == nil {
			builtinLoaded, builtinErr = loader.LoadFiles(files)
		}
	})
	return builtinLoaded, builtinErr
}

// Charts loads apps' charts: the builtin one, directories on the server, Helm repositories
// and OCI registries (downloads are cached under CacheDir).
type Charts struct {
	CacheDir string
	// PlainHTTP lets OCI pulls use http:// registries (for registries on loopback in tests).
	PlainHTTP bool
}

// Load returns the chart an app names.
func (c *Charts) Load(ref gatehouse.Chart) (*chart.Chart, error) {
	switch ref.Source {
	case gatehouse.ChartBuiltin, "":
		return BuiltinChart()
	case gatehouse.ChartDirectory:
		ch, err := loader.Load(ref.Path)
		if err != nil {
			return nil, fmt.Errorf("chart directory %s: %w", ref.Path, err)
		}
		return ch, nil
	case gatehouse.ChartRepository, gatehouse.ChartOCI:
		return c.pull(ref)
	}
	return nil, fmt.Errorf("unknown chart source %q", ref.Source)
}

// pull locates a repository or OCI chart the way `helm install --repo URL NAME` and
// `helm install oci://…` do, keeping the download in the cache.
func (c *Charts) pull(ref gatehouse.Chart) (*chart.Chart, error) {
	settings := cli.New()
	settings.RepositoryCache = filepath.Join(c.CacheDir, "repository")
	settings.RepositoryConfig = filepath.Join(c.CacheDir, "repositories.yaml")
	settings.RegistryConfig = filepath.Join(c.CacheDir, "registry.json")
	if err := os.MkdirAll(settings.RepositoryCache, 0o700); err != nil {
		return nil, fmt.Errorf("chart cache: %w", err)
	}
	opts := []registry.ClientOption{registry.ClientOptCredentialsFile(settings.RegistryConfig)}
	if c.PlainHTTP {
		opts = append(opts, registry.ClientOptPlainHTTP())
	}
	rc, err := registry.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("registry client: %w", err)
	}
	install := action.NewInstall(&action.Configuration{RegistryClient: rc})
	install.ChartPathOptions.Version = ref.Version
	name := ref.URL
	if ref.Source == gatehouse.ChartRepository {
		install.ChartPathOptions.RepoURL = ref.URL
		name = ref.Name
	}
	install.SetRegistryClient(rc)
	path, err := install.ChartPathOptions.LocateChart(name, settings)
	if err != nil {
		return nil, fmt.Errorf("locate chart %s: %w", name, err)
	}
	ch, err := loader.Load(path)
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", path, err)
	}
	return ch, nil
}
