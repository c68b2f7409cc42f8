package gatehouse

import (
	"context"
	"fmt"
	"time"
)

// Environment is a named (cluster, namespace) of a project. Production environments count for
// delivery metrics. A (cluster, namespace) belongs to at most one environment, and remembers
// every environment that used it: another environment moves in only through a change its
// policies approve. Where policies reach, the placement is a gated setting.
type Environment struct {
	ID      int64  `json:"id"`
	Project string `json:"project"`
	Name    string `json:"name"`
	Placement
	Production  bool      `json:"production"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Placement is where an environment's releases go: a cluster and namespace, and which objects
// outside that namespace a release may create — cluster-scoped objects, and namespaced objects
// in the listed other namespaces (never one that another environment uses). Everything else a
// chart renders outside its namespace is refused before it is applied.
type Placement struct {
	Cluster            string   `json:"cluster"`
	Namespace          string   `json:"namespace"`
	AllowClusterScoped bool     `json:"allow_cluster_scoped"`
	AllowNamespaces    []string `json:"allow_namespaces"`
}

// Validate checks every field.
func (p Placement) Validate() error {
	if err := ValidateName("cluster", p.Cluster); err != nil {
		return err
	}
	if err := ValidateName("namespace", p.Namespace); err != nil {
		return err
	}
	if len(p.AllowNamespaces) > 20 {
		return Invalidf("allow_namespaces", "lists %d namespaces: expected at most 20", len(p.AllowNamespaces))
	}
	for i, n := range p.AllowNamespaces {
		if err := ValidateName(fmt.Sprintf("allow_namespaces[%d]", i), n); err != nil {
			return err
		}
		if n == p.Namespace {
			return Invalidf(fmt.Sprintf("allow_namespaces[%d]", i), "is the environment's own namespace: expected other namespaces only")
		}
	}
	return nil
}

// Target is the access target of the environment.
func (e *Environment) Target() Target { return Target{Project: e.Project, Env: e.Name} }

// EnvironmentCreate is the input that creates an environment.
type EnvironmentCreate struct {
	Name        string `json:"name"`
	Cluster     string `json:"cluster"`
	Namespace   string `json:"namespace"`
	Production  bool   `json:"production"`
	Description string `json:"description"`
}

// Validate checks every field.
func (in EnvironmentCreate) Validate() error {
	if err := ValidateName("name", in.Name); err != nil {
		return err
	}
	if err := ValidateName("cluster", in.Cluster); err != nil {
		return err
	}
	if err := ValidateName("namespace", in.Namespace); err != nil {
		return err
	}
	return validateText("description", in.Description, 1024)
}

// EnvironmentUpdate changes the fields that are set. The placement fields (cluster,
// namespace, allow_*) are a gated setting where policies reach the environment: there they
// change through a draft of kind environment.
type EnvironmentUpdate struct {
	Cluster            *string   `json:"cluster"`
	Namespace          *string   `json:"namespace"`
	AllowClusterScoped *bool     `json:"allow_cluster_scoped"`
	AllowNamespaces    *[]string `json:"allow_namespaces"`
	Production         *bool     `json:"production"`
	Description        *string   `json:"description"`
}

// Place returns the placement p with the update's placement fields applied, and whether any
// is set.
func (in EnvironmentUpdate) Place(p Placement) (Placement, bool) {
	set := false
	if in.Cluster != nil {
		p.Cluster, set = *in.Cluster, true
	}
	if in.Namespace != nil {
		p.Namespace, set = *in.Namespace, true
	}
	if in.AllowClusterScoped != nil {
		p.AllowClusterScoped, set = *in.AllowClusterScoped, true
	}
	if in.AllowNamespaces != nil {
		p.AllowNamespaces, set = *in.AllowNamespaces, true
	}
	return p, set
}

// Validate checks the description; the placement is checked whole, once the update is
// applied to the environment's (see Placement.Validate).
func (in EnvironmentUpdate) Validate() error {
	if in.Description != nil {
		return validateText("description", *in.Description, 1024)
	}
	return nil
}

// EnvironmentService manages a project's environments.
type EnvironmentService interface {
	// CreateEnvironment creates an environment. Errors: invalid input (unknown cluster names the
	// cluster field); not found (project); forbidden without manage on the project; conflict when
	// the name or the (cluster, namespace) is taken.
	CreateEnvironment(ctx context.Context, project string, in EnvironmentCreate) (*Environment, error)
	// Environment returns one environment. Errors: not found.
	Environment(ctx context.Context, project, name string) (*Environment, error)
	// Environments lists the project's environments the caller may view, by name.
	Environments(ctx context.Context, project string) ([]*Environment, error)
	// UpdateEnvironment changes an environment. Errors: as CreateEnvironment.
	UpdateEnvironment(ctx context.Context, project, name string, in EnvironmentUpdate) (*Environment, error)
	// DeleteEnvironment deletes an environment. Errors: not found; forbidden; conflict while a
	// pipeline stage uses it.
	DeleteEnvironment(ctx context.Context, project, name string) error
}
