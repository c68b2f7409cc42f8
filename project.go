package gatehouse

import (
	"context"
	"time"
)

// Project is a team's group of apps and environments; the unit of access scope.
type Project struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// ProjectCreate is the input that creates a project.
type ProjectCreate struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Validate checks every field.
func (in ProjectCreate) Validate() error {
	if err := ValidateName("name", in.Name); err != nil {
		return err
	}
	return validateText("description", in.Description, 1024)
}

// ProjectUpdate changes the fields that are set.
type ProjectUpdate struct {
	Description *string `json:"description"`
}

// Validate checks every set field.
func (in ProjectUpdate) Validate() error {
	if in.Description != nil {
		return validateText("description", *in.Description, 1024)
	}
	return nil
}

// ProjectService manages projects. Every method checks the caller's rights; every change is
// audited in the same transaction.
type ProjectService interface {
	// CreateProject creates a project. Errors: invalid input; forbidden without manage on the
	// system; conflict when the name is taken.
	CreateProject(ctx context.Context, in ProjectCreate) (*Project, error)
	// Project returns one project. Errors: not found (also when the caller may not view it, so
	// names do not leak).
	Project(ctx context.Context, name string) (*Project, error)
	// Projects lists the projects the caller may view, by name.
	Projects(ctx context.Context) ([]*Project, error)
	// UpdateProject changes a project. Errors: invalid input; not found; forbidden without
	// manage on the project.
	UpdateProject(ctx context.Context, name string, in ProjectUpdate) (*Project, error)
	// DeleteProject deletes an empty project. Errors: not found; forbidden without manage on the
	// system; conflict while it still has apps or environments.
	DeleteProject(ctx context.Context, name string) error
}
