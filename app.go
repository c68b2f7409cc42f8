package gatehouse

import (
	"context"
	"net/url"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"
)

// ChartSource says where an app's Helm chart comes from.
type ChartSource string

// The chart sources.
const (
	ChartBuiltin    ChartSource = "builtin"    // Gatehouse's own "app" chart
	ChartDirectory  ChartSource = "directory"  // a chart directory on the server
	ChartRepository ChartSource = "repository" // a Helm repository (URL + chart name)
	ChartOCI        ChartSource = "oci"        // an OCI registry (oci://…)
)

// Chart locates an app's Helm chart.
type Chart struct {
	Source  ChartSource `json:"source"`
	Path    string      `json:"path,omitempty"`    // directory
	URL     string      `json:"url,omitempty"`     // repository or oci
	Name    string      `json:"name,omitempty"`    // repository
	Version string      `json:"version,omitempty"` // repository or oci; empty means newest
	// Digest is "sha256:<64 hex digits>" of the chart as pinned: of the chart archive as
	// downloaded for repository and OCI charts, of the chart's files for builtin and directory
	// charts. When set, a deployment refuses a chart that is not exactly this one.
	Digest string `json:"digest,omitempty"`
}

// Validate checks the fields the source needs and refuses those it does not use.
func (c Chart) Validate(field string) error {
	switch c.Source {
	case ChartBuiltin:
		if c.Path != "" || c.URL != "" || c.Name != "" || c.Version != "" {
			return Invalidf(field, "the builtin chart takes no path, url, name or version")
		}
	case ChartDirectory:
		if c.Path == "" || !filepath.IsAbs(c.Path) {
			return Invalidf(field+".path", "expected an absolute directory path on the server")
		}
	case ChartRepository:
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return Invalidf(field+".url", "expected the http(s) URL of a Helm repository")
		}
		if err := ValidateName(field+".name", c.Name); err != nil {
			return err
		}
	case ChartOCI:
		u, err := url.Parse(c.URL)
		if err != nil || u.Scheme != "oci" || u.Host == "" {
			return Invalidf(field+".url", "expected an oci://registry/path/chart reference")
		}
	default:
		return Invalidf(field+".source", "%q is not a chart source: expected builtin, directory, repository or oci", c.Source)
	}
	if c.Digest != "" && !digestRE.MatchString(c.Digest) {
		return Invalidf(field+".digest", "%q is not a chart digest: expected sha256:<64 lowercase hex digits>", c.Digest)
	}
	return validateText(field+".version", c.Version, 128)
}

// App is a deployable service: a chart plus base values (YAML) shared by all environments.
//
// ConfigRevision counts changes to the app's configuration (base values or any environment's
// overrides); every deployment records the revision it used.
type App struct {
	ID             int64     `json:"id"`
	Project        string    `json:"project"`
	Name           string    `json:"name"`
	Description    string    `json:"description"`
	Chart          Chart     `json:"chart"`
	Values         string    `json:"values,omitempty"`
	Hooks          Hooks     `json:"hooks"`
	ConfigRevision int64     `json:"config_revision"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Target is the access target of the app.
func (a *App) Target() Target { return Target{Project: a.Project, App: a.Name} }

// AppCreate is the input that creates an app. A zero Chart means the builtin chart.
type AppCreate struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Chart       Chart  `json:"chart"`
	Values      string `json:"values"`
	Hooks       Hooks  `json:"hooks"`
}

// Validate checks every field and fills defaults.
func (in *AppCreate) Validate() error {
	if err := ValidateName("name", in.Name); err != nil {
		return err
	}
	if err := validateText("description", in.Description, 1024); err != nil {
		return err
	}
	if in.Chart == (Chart{}) {
		in.Chart.Source = ChartBuiltin
	}
	if err := in.Chart.Validate("chart"); err != nil {
		return err
	}
	if err := in.Hooks.Validate("hooks"); err != nil {
		return err
	}
	return validateAppValues(in.Values)
}

// validateAppValues checks base values: a YAML mapping without secret settings.
func validateAppValues(text string) error {
	v, err := ParseValues("values", text)
	if err != nil {
		return err
	}
	return RefuseSecretValues("values", v)
}

// AppUpdate changes the fields that are set.
type AppUpdate struct {
	Description *string `json:"description"`
	Chart       *Chart  `json:"chart"`
	Values      *string `json:"values"`
	Hooks       *Hooks  `json:"hooks"`
}

// Validate checks every set field.
func (in AppUpdate) Validate() error {
	if in.Description != nil {
		if err := validateText("description", *in.Description, 1024); err != nil {
			return err
		}
	}
	if in.Chart != nil {
		if err := in.Chart.Validate("chart"); err != nil {
			return err
		}
	}
	if in.Hooks != nil {
		if err := in.Hooks.Validate("hooks"); err != nil {
			return err
		}
	}
	if in.Values != nil {
		return validateAppValues(*in.Values)
	}
	return nil
}

// ValidateValues checks that s is empty or a YAML mapping, and names the line of a syntax error.
func ValidateValues(field, s string) error {
	if len(s) > 1<<20 {
		return Invalidf(field, "is larger than 1 MiB: expected Helm values (a YAML mapping)")
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(s), &doc); err != nil {
		return Invalidf(field, "is not valid YAML (%v): expected Helm values (a YAML mapping)", err)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	if doc.Content[0].Kind != yaml.MappingNode {
		return Invalidf(field, "line %d: expected Helm values (a YAML mapping), found a %s", doc.Content[0].Line, yamlKindName(doc.Content[0].Kind))
	}
	return nil
}

func yamlKindName(k yaml.Kind) string {
	switch k {
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "single value"
	default:
		return "non-mapping document"
	}
}

// AppService manages a project's apps.
type AppService interface {
	// CreateApp creates an app. Errors: invalid input; not found (project); forbidden without
	// manage on the project; conflict when the name is taken.
	CreateApp(ctx context.Context, project string, in AppCreate) (*App, error)
	// App returns one app. Errors: not found.
	App(ctx context.Context, project, name string) (*App, error)
	// Apps lists the project's apps the caller may view, by name, without their base values
	// (Values is empty; App has them): a list is read to find an app, and masking a thousand
	// apps' values would cost most of the list.
	Apps(ctx context.Context, project string) ([]*App, error)
	// UpdateApp changes an app. Errors: invalid input; not found; forbidden without manage on
	// the app.
	UpdateApp(ctx context.Context, project, name string, in AppUpdate) (*App, error)
	// DeleteApp deletes an app with its pipeline and artifacts. Errors: not found; forbidden
	// without manage on the project; conflict when it has deployments (their history stays).
	DeleteApp(ctx context.Context, project, name string) error
	// Overrides returns the app's per-environment values overrides (environment → YAML).
	// Errors: not found.
	Overrides(ctx context.Context, project, app string) (map[string]string, error)
	// SetOverrides replaces one environment's values overrides ("" removes them) and bumps the
	// config revision. Errors: invalid YAML (with the line); not found; forbidden without
	// manage on the app's environment.
	SetOverrides(ctx context.Context, project, app, env, values string) (*App, error)
}
