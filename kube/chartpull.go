package kube

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"helm.sh/helm/v3/pkg/cli"
	"helm.sh/helm/v3/pkg/downloader"
	helmgetter "helm.sh/helm/v3/pkg/getter"
	"helm.sh/helm/v3/pkg/registry"
	"helm.sh/helm/v3/pkg/repo"

	"github.com/gatehousehq/gatehouse"
)

// download fetches a repository or OCI chart's archive into memory, resolving its version as
// `helm pull --repo URL NAME` and `helm pull oci://…` do. It does not go through the Helm SDK's
// ChartPathOptions.LocateChart, for two of its habits: it prefers a directory of the chart's
// name in the server's working directory over the repository (which would deploy something
// nobody approved), and it hands the archive over through a file in the download cache, which
// concurrent deploys share, so what was hashed and what was loaded could differ.
func (c *Charts) download(ref gatehouse.Chart) ([]byte, error) {
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
	getters := helmgetter.All(settings)
	dl := downloader.ChartDownloader{Out: io.Discard, Getters: getters, RegistryClient: rc,
		RepositoryConfig: settings.RepositoryConfig, RepositoryCache: settings.RepositoryCache,
		Options: []helmgetter.Option{helmgetter.WithPlainHTTP(c.PlainHTTP), helmgetter.WithRegistryClient(rc),
			helmgetter.WithAcceptHeader("application/gzip,application/octet-stream")}}
	name := ref.URL
	if ref.Source == gatehouse.ChartRepository {
		// The index is read anew each time: the version it resolves to is the newest now.
		name, err = repo.FindChartInAuthAndTLSAndPassRepoURL(ref.URL, "", "", ref.Name, ref.Version, "", "", "", false, false, getters)
		if err != nil {
			return nil, fmt.Errorf("locate chart %s: %w", chartLocation(ref), err)
		}
	}
	u, err := dl.ResolveChartVersion(name, ref.Version)
	if err != nil {
		return nil, fmt.Errorf("locate chart %s: %w", chartLocation(ref), err)
	}
	g, err := getters.ByScheme(u.Scheme)
	if err != nil {
		return nil, fmt.Errorf("download chart %s: %w", chartLocation(ref), err)
	}
	buf, err := g.Get(u.String(), dl.Options...)
	if err != nil {
		return nil, fmt.Errorf("download chart %s: %w", chartLocation(ref), err)
	}
	return buf.Bytes(), nil
}
