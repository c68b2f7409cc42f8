package gatehouse

import (
	"context"
	"time"
)

// RoleBinding grants a role on a scope to one user or one group (exactly one of User, Group).
type RoleBinding struct {
	ID        int64     `json:"id"`
	User      string    `json:"user,omitempty"`
	Group     string    `json:"group,omitempty"`
	Role      Role      `json:"role"`
	Scope     string    `json:"scope"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// RoleBindingCreate is the input that creates a role binding.
type RoleBindingCreate struct {
	User  string `json:"user"`
	Group string `json:"group"`
	Role  Role   `json:"role"`
	Scope string `json:"scope"`
}

// Validate checks every field and returns the parsed scope. Super-admin can only be bound on
// the global scope "*".
func (in RoleBindingCreate) Validate() (Scope, error) {
	switch {
	case (in.User == "") == (in.Group == ""):
		return Scope{}, Invalidf("user", "expected exactly one of user or group")
	case in.User != "":
		if err := ValidateUserName("user", in.User); err != nil {
			return Scope{}, err
		}
	default:
		if err := ValidateName("group", in.Group); err != nil {
			return Scope{}, err
		}
	}
	if err := ValidateRole("role", in.Role); err != nil {
		return Scope{}, err
	}
	sc, err := ParseScope("scope", in.Scope)
	if err != nil {
		return Scope{}, err
	}
	if in.Role == RoleSuperAdmin && sc != GlobalScope {
		return Scope{}, Invalidf("scope", "super-admin is bound on the global scope only: expected \"*\"")
	}
	return sc, nil
}

// RoleBindingFilter selects role bindings.
type RoleBindingFilter struct {
	User    string // bindings of this user, directly or through groups
	Group   string
	Project string // bindings whose scope reaches this project
}

// RoleBindingService manages role bindings. Creating or deleting one is checked with CanGrant.
type RoleBindingService interface {
	// CreateRoleBinding grants a role. Errors: invalid input; not found (user or group);
	// forbidden unless CanGrant; conflict when the same binding exists.
	CreateRoleBinding(ctx context.Context, in RoleBindingCreate) (*RoleBinding, error)
	// RoleBindings lists bindings matching the filter, in creation order.
	RoleBindings(ctx context.Context, f RoleBindingFilter) ([]*RoleBinding, error)
	// DeleteRoleBinding revokes a binding. Errors: not found; forbidden unless CanGrant.
	DeleteRoleBinding(ctx context.Context, id int64) error
}
