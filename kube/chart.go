package kube

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"strings"
	"sync"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"

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
// and OCI registries. Repository and OCI charts are downloaded on every Load and Pin (what a
// repository serves can change); CacheDir holds Helm's repository and registry settings.
type Charts struct {
	CacheDir string
	// PlainHTTP lets OCI pulls use http:// registries (for registries on loopback in tests).
	PlainHTTP bool
}

// Load returns the chart ref names, as it is now.
//
// When ref.Digest is set, Load returns exactly that chart or an error naming both digests
// (what it found and what was approved); it never returns a chart whose digest differs. When
// ref.Digest is empty it returns whatever ref resolves to now: for a repository or OCI chart
// without a version, the newest. Errors: the chart cannot be found, fetched or loaded; the
// digest differs.
func (c *Charts) Load(ref gatehouse.Chart) (*chart.Chart, error) {
	ch, digest, err := c.fetch(ref)
	if err != nil {
		return nil, err
	}
	if ref.Digest != "" && digest != ref.Digest {
		return nil, fmt.Errorf("chart %s %s is %s, but %s was approved: refusing to deploy it",
			ch.Name(), ch.Metadata.Version, digest, ref.Digest)
	}
	return ch, nil
}

// Pin resolves ref as Load would load it now and returns ref pinned to that chart: for
// repository and OCI charts Version is set to the exact version found (the newest when ref has
// none, the newest match of a range), and Digest is set for every source: for repository and
// OCI charts the sha256 of the chart archive as downloaded (the digest a repository's index
// lists, the OCI chart layer's digest); for the builtin chart and directories, which have no
// archive, a canonical sha256 over the chart's files, subcharts included. Loading the pinned ref
// later returns the same chart or refuses. Errors: as Load's, apart
// from a digest mismatch (a digest already in ref is replaced).
func (c *Charts) Pin(ctx context.Context, ref gatehouse.Chart) (gatehouse.Chart, error) {
	if err := ctx.Err(); err != nil {
		return ref, err
	}
	ch, digest, err := c.fetch(ref)
	if err != nil {
		return ref, err
	}
	if ref.Source == gatehouse.ChartRepository || ref.Source == gatehouse.ChartOCI {
		ref.Version = ch.Metadata.Version
	}
	ref.Digest = digest
	return ref, nil
}

// fetch loads the chart ref names and returns it with its digest, computed over exactly the
// bytes it was loaded from, never read a second time.
func (c *Charts) fetch(ref gatehouse.Chart) (*chart.Chart, string, error) {
	switch ref.Source {
	case gatehouse.ChartBuiltin, "":
		ch, err := BuiltinChart()
		if err != nil {
			return nil, "", fmt.Errorf("builtin chart: %w", err)
		}
		return ch, filesDigest(ch.Raw), nil
	case gatehouse.ChartDirectory:
		ch, err := loader.Load(ref.Path)
		if err != nil {
			return nil, "", fmt.Errorf("chart directory %s: %w", ref.Path, err)
		}
		return ch, filesDigest(ch.Raw), nil
	case gatehouse.ChartRepository, gatehouse.ChartOCI:
		archive, err := c.download(ref)
		if err != nil {
			return nil, "", err
		}
		ch, err := loader.LoadArchive(bytes.NewReader(archive))
		if err != nil {
			return nil, "", fmt.Errorf("load chart %s: %w", chartLocation(ref), err)
		}
		return ch, archiveDigest(archive), nil
	}
	return nil, "", fmt.Errorf("unknown chart source %q", ref.Source)
}

// chartLocation names a repository or OCI chart in errors.
func chartLocation(ref gatehouse.Chart) string {
	s := ref.URL
	if ref.Source == gatehouse.ChartRepository {
		s = ref.Name + " from " + ref.URL
	}
	if ref.Version != "" {
		s += " version " + ref.Version
	}
	return s
}
