package gatehouse

import (
	"context"
	"time"
)

// Environment is a named (cluster, namespace) of a project. Production environments count for
// delivery metrics. A (cluster, namespace) belongs to at most one environment.
type Environment struct {
	ID          int64     `json:"id"`
	Project     string    `json:"project"`
	Name        string    `json:"name"`
	Cluster     string    `json:"cluster"`
	Namespace   string    `json:"namespace"`
	Production  bool      `json:"production"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
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

// EnvironmentUpdate changes the fields that are set.
type EnvironmentUpdate struct {
	Cluster     *string `json:"cluster"`
	Namespace   *string `json:"namespace"`
	Production  *bool   `json:"production"`
	Description *string `json:"description"`
}

// Validate checks every set field.
func (in EnvironmentUpdate) Validate() error {
	if in.Cluster != nil {
		if err := ValidateName("cluster", *in.Cluster); err != nil {
			return err
		}
	}
	if in.Namespace != nil {
		if err := ValidateName("namespace", *in.Namespace); err != nil {
			return err
		}
	}
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
