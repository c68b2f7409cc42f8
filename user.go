package gatehouse

import (
	"context"
	"time"
)

// User is a person or a service account. Only people have passwords; service accounts
// authenticate with tokens and never approve anything.
type User struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	DisplayName string    `json:"display_name"`
	Email       string    `json:"email"`
	Kind        UserKind  `json:"kind"`
	Disabled    bool      `json:"disabled"`
	Groups      []string  `json:"groups"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// UserCreate is the input that creates a user.
type UserCreate struct {
	Name        string   `json:"name"`
	DisplayName string   `json:"display_name"`
	Email       string   `json:"email"`
	Kind        UserKind `json:"kind"`
	Password    Secret   `json:"password"`
}

// Validate checks every field and fills the default kind (human).
func (in *UserCreate) Validate() error {
	if err := ValidateUserName("name", in.Name); err != nil {
		return err
	}
	if err := validateText("display_name", in.DisplayName, 256); err != nil {
		return err
	}
	if err := ValidateEmail("email", in.Email); err != nil {
		return err
	}
	switch in.Kind {
	case "":
		in.Kind = HumanUser
		fallthrough
	case HumanUser:
		return ValidatePassword("password", in.Password)
	case ServiceAccount:
		if !in.Password.IsZero() {
			return Invalidf("password", "service accounts have no password: expected none (they authenticate with tokens)")
		}
		return nil
	default:
		return Invalidf("kind", "%q is not a user kind: expected human or service", in.Kind)
	}
}

// UserUpdate changes the fields that are set.
type UserUpdate struct {
	DisplayName *string `json:"display_name"`
	Email       *string `json:"email"`
	Disabled    *bool   `json:"disabled"`
	Password    *Secret `json:"password"`
}

// Validate checks every set field.
func (in UserUpdate) Validate() error {
	if in.DisplayName != nil {
		if err := validateText("display_name", *in.DisplayName, 256); err != nil {
			return err
		}
	}
	if in.Email != nil {
		if err := ValidateEmail("email", *in.Email); err != nil {
			return err
		}
	}
	if in.Password != nil {
		return ValidatePassword("password", *in.Password)
	}
	return nil
}

// ValidatePassword checks password strength by length (12 to 256 bytes), the rule NIST 800-63B
// recommends over composition rules.
func ValidatePassword(field string, p Secret) error {
	if n := len(p.Reveal()); n < 12 || n > 256 {
		return Invalidf(field, "expected 12 to 256 characters")
	}
	return nil
}

// ValidateEmail checks an optional e-mail address loosely (one '@', no spaces).
func ValidateEmail(field, e string) error {
	if e == "" {
		return nil
	}
	at := 0
	for i, r := range e {
		if r == '@' {
			if at != 0 || i == 0 || i == len(e)-1 {
				return Invalidf(field, "%q is not an e-mail address: expected name@domain", e)
			}
			at = i
		}
		if r <= ' ' {
			return Invalidf(field, "%q is not an e-mail address: expected name@domain", e)
		}
	}
	if at == 0 || len(e) > 254 {
		return Invalidf(field, "%q is not an e-mail address: expected name@domain", e)
	}
	return nil
}

// PasswordChange is a user's change of their own password.
type PasswordChange struct {
	Current Secret `json:"current_password"`
	New     Secret `json:"new_password"`
}

// UserService manages users. Managing other users needs administer on the system.
type UserService interface {
	// CreateUser creates a user. Errors: invalid input; forbidden; conflict when the name is taken.
	CreateUser(ctx context.Context, in UserCreate) (*User, error)
	// User returns one user with its groups, as the caller sees the directory (see Users).
	// Errors: not found, also for a user the caller does not see.
	User(ctx context.Context, name string) (*User, error)
	// Users lists by name the users the caller sees. Holders of super-admin, admin or
	// access-manager on any scope (SeesDirectory) see every user with e-mail and groups. Anyone
	// else sees themselves, and the users bound (directly or through a group) on a scope that
	// reaches a project the caller is bound in, a scope on every project reaching each one —
	// enough to pick whom to notify — without their e-mail, and of their groups those the
	// caller sees (see Groups). Someone bound nowhere sees only themselves.
	Users(ctx context.Context) ([]*User, error)
	// UpdateUser changes a user. Setting the password, or disabling the user, ends the user's
	// sessions and revokes its interactive tokens (Token.Interactive) in the same transaction,
	// each revocation audited with its reason; a disabled user's other tokens stop working
	// while it is disabled. Errors: invalid input; not found; forbidden.
	UpdateUser(ctx context.Context, name string, in UserUpdate) (*User, error)
	// ChangePassword changes the caller's own password after checking the current one, and in
	// the same transaction ends all the caller's sessions and revokes its interactive tokens,
	// each revocation audited (sign in again). Errors: invalid (new password); unauthenticated
	// (current password wrong); conflict when the password changed, or the caller was disabled,
	// meanwhile; forbidden for service accounts.
	ChangePassword(ctx context.Context, in PasswordChange) error
}

// Group is a named set of users; role bindings to a group apply to its members.
type Group struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Members     []string  `json:"members"`
	CreatedAt   time.Time `json:"created_at"`
}

// GroupCreate is the input that creates a group.
type GroupCreate struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Members     []string `json:"members"`
}

// Validate checks every field.
func (in GroupCreate) Validate() error {
	if err := ValidateName("name", in.Name); err != nil {
		return err
	}
	for _, m := range in.Members {
		if err := ValidateUserName("members", m); err != nil {
			return err
		}
	}
	return validateText("description", in.Description, 1024)
}

// GroupService manages groups and their members (administer on the system).
type GroupService interface {
	// CreateGroup creates a group with initial members. Errors: invalid input (unknown member
	// names the members field); forbidden; conflict when the name is taken.
	CreateGroup(ctx context.Context, in GroupCreate) (*Group, error)
	// Group returns a group with its members, as the caller sees the directory (see Groups).
	// Errors: not found, also for a group the caller does not see.
	Group(ctx context.Context, name string) (*Group, error)
	// Groups lists by name the groups the caller sees: all of them, with every member, for
	// those who see the whole directory (SeesDirectory); for anyone else, the groups bound on a
	// scope that reaches a project the caller is bound in and the caller's own groups, each
	// with only the members the caller sees (see UserService.Users).
	Groups(ctx context.Context) ([]*Group, error)
	// DeleteGroup deletes a group and its role bindings. Errors: not found; forbidden.
	DeleteGroup(ctx context.Context, name string) error
	// AddGroupMember adds a user to a group (no-op when a member). Errors: not found; forbidden.
	AddGroupMember(ctx context.Context, group, user string) (*Group, error)
	// RemoveGroupMember removes a user from a group. Errors: not found (also when not a
	// member); forbidden.
	RemoveGroupMember(ctx context.Context, group, user string) (*Group, error)
}
