package gatehouse

import (
	"context"
	"net/url"
	"time"

	"gopkg.in/yaml.v3"
)

// Cluster is a Kubernetes API endpoint. Its kubeconfig is encrypted at rest and never returned;
// Server is read from it for display.
type Cluster struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Server      string `json:"server"`
	// Identity is what the cluster itself says it is — the UID of its kube-system namespace —
	// as Gatehouse last saw it ("" until it has reached the cluster). Many URLs can reach one
	// API server; its identity is one, so one Kubernetes cluster is registered once and a
	// cluster's kubeconfig cannot be re-pointed at another.
	Identity  string    `json:"identity,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ClusterCreate is the input that registers a cluster.
type ClusterCreate struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Kubeconfig  Secret `json:"kubeconfig"`
}

// Validate checks every field and returns the API server URL the kubeconfig selects.
func (in ClusterCreate) Validate() (server string, err error) {
	if err := ValidateName("name", in.Name); err != nil {
		return "", err
	}
	if err := validateText("description", in.Description, 1024); err != nil {
		return "", err
	}
	return KubeconfigServer("kubeconfig", in.Kubeconfig)
}

// ClusterUpdate changes the fields that are set.
type ClusterUpdate struct {
	Description *string `json:"description"`
	Kubeconfig  *Secret `json:"kubeconfig"`
}

// Validate checks every set field and returns the new server URL when the kubeconfig changes.
func (in ClusterUpdate) Validate() (server string, err error) {
	if in.Description != nil {
		if err := validateText("description", *in.Description, 1024); err != nil {
			return "", err
		}
	}
	if in.Kubeconfig != nil {
		return KubeconfigServer("kubeconfig", *in.Kubeconfig)
	}
	return "", nil
}

type kubeconfigDoc struct {
	CurrentContext string `yaml:"current-context"`
	Clusters       []struct {
		Name    string `yaml:"name"`
		Cluster struct {
			Server string `yaml:"server"`
		} `yaml:"cluster"`
	} `yaml:"clusters"`
	Contexts []struct {
		Name    string `yaml:"name"`
		Context struct {
			Cluster string `yaml:"cluster"`
		} `yaml:"context"`
	} `yaml:"contexts"`
}

// KubeconfigServer checks that kc is a kubeconfig whose current context names a cluster with an
// https or http server URL, and returns that URL. Errors never quote the kubeconfig.
func KubeconfigServer(field string, kc Secret) (string, error) {
	const expect = "expected a kubeconfig (YAML) whose current-context names a cluster with a server URL"
	if kc.IsZero() {
		return "", Invalidf(field, "is required: %s", expect)
	}
	if len(kc.Reveal()) > 256<<10 {
		return "", Invalidf(field, "is larger than 256 KiB: %s", expect)
	}
	var doc kubeconfigDoc
	if err := yaml.Unmarshal([]byte(kc.Reveal()), &doc); err != nil {
		return "", Invalidf(field, "is not valid YAML: %s", expect)
	}
	if doc.CurrentContext == "" {
		return "", Invalidf(field, "has no current-context: %s", expect)
	}
	for _, c := range doc.Contexts {
		if c.Name != doc.CurrentContext {
			continue
		}
		for _, cl := range doc.Clusters {
			if cl.Name != c.Context.Cluster {
				continue
			}
			u, err := url.Parse(cl.Cluster.Server)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return "", Invalidf(field, "cluster %q has no valid server URL: %s", cl.Name, expect)
			}
			return u.Scheme + "://" + u.Host + u.Path, nil
		}
		return "", Invalidf(field, "context %q names cluster %q, which is not defined: %s", c.Name, c.Context.Cluster, expect)
	}
	return "", Invalidf(field, "current-context %q is not defined: %s", doc.CurrentContext, expect)
}

// ClusterService manages clusters, which are shared by all projects.
type ClusterService interface {
	// CreateCluster registers a cluster; the kubeconfig is stored encrypted. Errors: invalid
	// input; forbidden without administer on the system; conflict when the name is taken.
	CreateCluster(ctx context.Context, in ClusterCreate) (*Cluster, error)
	// Cluster returns one cluster, without credentials. Errors: not found.
	Cluster(ctx context.Context, name string) (*Cluster, error)
	// Clusters lists all clusters by name; any authenticated user may list them.
	Clusters(ctx context.Context) ([]*Cluster, error)
	// UpdateCluster changes a cluster. Errors: invalid input; not found; forbidden.
	UpdateCluster(ctx context.Context, name string, in ClusterUpdate) (*Cluster, error)
	// DeleteCluster removes a cluster. Errors: not found; forbidden; conflict while environments
	// use it.
	DeleteCluster(ctx context.Context, name string) error
}
