package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

// UserService implements gatehouse.UserService.
type UserService struct{ db *DB }

// NewUserService returns the user service of db.
func NewUserService(db *DB) *UserService { return &UserService{db: db} }

const userColumns = `id, name, display_name, email, kind, disabled, created_at, updated_at`

func scanUser(row scanner) (*gatehouse.User, error) {
	var u gatehouse.User
	var created, updated int64
	if err := row.Scan(&u.ID, &u.Name, &u.DisplayName, &u.Email, &u.Kind, &u.Disabled, &created, &updated); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt = fromMicro(created), fromMicro(updated)
	u.Groups = []string{}
	return &u, nil
}

// findUser reads a user with its groups, seeing the whole directory: for Gatehouse's own
// reads, never to answer a caller (readUser does).
func findUser(ctx context.Context, q querier, name string) (*gatehouse.User, error) {
	return readUser(ctx, q, name, wholeDirectory)
}

// readUser reads a user that d sees, with the groups of it that d sees and its e-mail masked
// as d must; a user d does not see is not found, as one that does not exist.
func readUser(ctx context.Context, q querier, name string, d directory) (*gatehouse.User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users u WHERE u.name = $1 AND `+d.seesUser("u", 2),
		append([]any{name}, d.args()...)...))
	if err != nil {
		return nil, notFoundOr(err, "user %q not found", name)
	}
	groups, err := queryAll(ctx, q, scanString, `SELECT g.name FROM user_groups g JOIN group_members m ON m.group_id = g.id
		WHERE m.user_id = $1 AND `+d.seesGroup("g", 2)+` ORDER BY g.name`, append([]any{u.ID}, d.args()...)...)
	if err != nil {
		return nil, fmt.Errorf("user groups: %w", err)
	}
	u.Groups = append(u.Groups, groups...)
	return d.mask(u), nil
}

// requireAdminister checks the caller may administer the system.
func requireAdminister(ctx context.Context) (*gatehouse.Actor, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	return a, a.Require(gatehouse.ActionAdminister, gatehouse.Target{})
}

// insertUser creates a user row and audits it.
func (tx *Tx) insertUser(in gatehouse.UserCreate) (*gatehouse.User, error) {
	u := &gatehouse.User{Name: in.Name, DisplayName: in.DisplayName, Email: in.Email, Kind: in.Kind, Groups: []string{},
		CreatedAt: tx.now, UpdatedAt: tx.now}
	var hash sql.NullString
	if in.Kind == gatehouse.HumanUser && !in.Password.IsZero() { // people from single sign-on have none
		hash = sql.NullString{String: hashPassword(in.Password.Reveal()), Valid: true}
	}
	err := tx.QueryRowContext(tx.ctx, `INSERT INTO users (name, display_name, email, kind, password_hash, disabled, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, FALSE, $6, $6) RETURNING id`, u.Name, u.DisplayName, u.Email, u.Kind, hash, micro(tx.now)).Scan(&u.ID)
	if isUniqueViolation(err) {
		return nil, gatehouse.Conflictf("user %q already exists", in.Name)
	} else if err != nil {
		return nil, fmt.Errorf("insert user: %w", err)
	}
	return u, tx.audit(change{action: "user.create", resource: "user/" + u.Name, after: u})
}

// CreateUser implements gatehouse.UserService.
func (s *UserService) CreateUser(ctx context.Context, in gatehouse.UserCreate) (*gatehouse.User, error) {
	if _, err := requireAdminister(ctx); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var u *gatehouse.User
	err := s.db.write(ctx, func(tx *Tx) error {
		var err error
		u, err = tx.insertUser(in)
		return err
	})
	return u, err
}

// User implements gatehouse.UserService.
func (s *UserService) User(ctx context.Context, name string) (*gatehouse.User, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	return readUser(ctx, s.db.r, name, directoryOf(a))
}

// Users implements gatehouse.UserService.
func (s *UserService) Users(ctx context.Context) ([]*gatehouse.User, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	d := directoryOf(a)
	users, err := queryAll(ctx, s.db.r, scanUser, `SELECT `+userColumns+` FROM users u WHERE `+d.seesUser("u", 1)+` ORDER BY u.name`, d.args()...)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	for _, u := range users {
		d.mask(u)
	}
	return users, nil
}

// UpdateUser implements gatehouse.UserService.
func (s *UserService) UpdateUser(ctx context.Context, name string, in gatehouse.UserUpdate) (*gatehouse.User, error) {
	if _, err := requireAdminister(ctx); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var after *gatehouse.User
	err := s.db.write(ctx, func(tx *Tx) error {
		before, err := findUser(ctx, tx, name)
		if err != nil {
			return err
		}
		if err := mayTakeOver(ctx, tx, before, in); err != nil {
			return err
		}
		u := *before
		if in.DisplayName != nil {
			u.DisplayName = *in.DisplayName
		}
		if in.Email != nil {
			u.Email = *in.Email
		}
		if in.Disabled != nil {
			u.Disabled = *in.Disabled
		}
		u.UpdatedAt = tx.now
		details := map[string]string{}
		if in.Password != nil {
			if u.Kind != gatehouse.HumanUser {
				return gatehouse.Invalidf("password", "service accounts have no password: expected none")
			}
			if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2`, hashPassword(in.Password.Reveal()), u.ID); err != nil {
				return fmt.Errorf("set password: %w", err)
			}
			details["password"] = gatehouse.Masked + " changed"
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET display_name = $1, email = $2, disabled = $3, updated_at = $4 WHERE id = $5`,
			u.DisplayName, u.Email, u.Disabled, micro(tx.now), u.ID); err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		// A user whose password an administrator reset, or who is disabled, must sign in again:
		// sessions end and `gatehouse login` tokens are revoked. A disabled user fails
		// authentication anyway, but only while disabled: the disable is often the answer to a
		// suspected theft, and enabling the user again must not bring a stolen token that can
		// approve back to life. Signing in again costs the person one `gatehouse login`.
		switch {
		case in.Password != nil:
			err = tx.endSignIns(u.ID, fmt.Sprintf(reasonPasswordReset, gatehouse.ActorFrom(ctx).UserName))
		case u.Disabled:
			err = tx.endSignIns(u.ID, fmt.Sprintf(reasonUserDisabled, gatehouse.ActorFrom(ctx).UserName))
		}
		if err != nil {
			return err
		}
		after = &u
		return tx.audit(change{action: "user.update", resource: "user/" + name, before: before, after: after, details: nonEmpty(details)})
	})
	return after, err
}

// ChangePassword implements gatehouse.UserService.
func (s *UserService) ChangePassword(ctx context.Context, in gatehouse.PasswordChange) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	if a.Kind != gatehouse.HumanUser {
		return gatehouse.Forbiddenf("%s is not a person: only people have passwords", a.UserName)
	}
	if err := gatehouse.ValidatePassword("new_password", in.New); err != nil {
		return err
	}
	var hash string
	if err := s.db.r.QueryRowContext(ctx, `SELECT COALESCE(password_hash, '') FROM users WHERE id = $1`, a.UserID).Scan(&hash); err != nil {
		return fmt.Errorf("read password: %w", err)
	}
	if !checkPassword(hash, in.Current.Reveal()) {
		return &gatehouse.Error{Kind: gatehouse.KindUnauthenticated, Field: "current_password", Message: "does not match: expected your current password"}
	}
	return s.db.write(ctx, func(tx *Tx) error {
		if err := tx.passwordStands(a.UserID, hash); errors.Is(err, errBadLogin) {
			return gatehouse.Conflictf("your password changed, or your account was disabled, meanwhile: sign in again")
		} else if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3`,
			hashPassword(in.New.Reveal()), micro(tx.now), a.UserID); err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		if err := tx.endSignIns(a.UserID, reasonPasswordChanged); err != nil {
			return err
		}
		return tx.audit(change{action: "user.password_change", resource: "user/" + a.UserName,
			details: map[string]string{"password": gatehouse.Masked + " changed"}})
	})
}

func nonEmpty(m map[string]string) any {
	if len(m) == 0 {
		return nil
	}
	return m
}

// mayTakeOver refuses what would let an administrator vote as someone else: setting the
// password or e-mail address (approve links and single sign-on follow it) of another person
// who votes under a policy. Taking the votes away first applies at once; giving them back is
// then judged by those policies.
func mayTakeOver(ctx context.Context, q querier, u *gatehouse.User, in gatehouse.UserUpdate) error {
	if gatehouse.ActorFrom(ctx).UserID == u.ID || (in.Password == nil && (in.Email == nil || *in.Email == u.Email)) {
		return nil
	}
	where, err := votes(ctx, q, u.ID)
	if err != nil || len(where) == 0 {
		return err
	}
	return gatehouse.Errorf(gatehouse.KindPreconditionFailed, "%s votes where policies reach (%s): an administrator may not set the password "+
		"or e-mail address of a person who votes, or someone else could vote as them; they change their password themselves "+
		"(gatehouse passwd). To reset it, first revoke those roles (that applies at once), then grant them again (a change those policies judge)",
		u.Name, strings.Join(where, "; "))
}
