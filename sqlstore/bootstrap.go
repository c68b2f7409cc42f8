package sqlstore

import (
	"context"
	"fmt"

	"github.com/gatehousehq/gatehouse"
)

// Bootstrap creates the first user, a super-admin, when the store has no users at all; it does
// nothing otherwise. An empty password is replaced by a random one. It returns the password and
// whether it created the user, so the caller can show the password once.
func (db *DB) Bootstrap(ctx context.Context, name string, password gatehouse.Secret) (gatehouse.Secret, bool, error) {
	if password.IsZero() {
		password = gatehouse.NewSecret(randomText("")[:24])
	}
	in := gatehouse.UserCreate{Name: name, Kind: gatehouse.HumanUser, Password: password, DisplayName: "Administrator"}
	if err := in.Validate(); err != nil {
		return gatehouse.Secret{}, false, fmt.Errorf("bootstrap admin: %w", err)
	}
	created := false
	ctx = gatehouse.WithActor(ctx, gatehouse.SystemActor())
	err := db.write(ctx, func(tx *Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
			return fmt.Errorf("count users: %w", err)
		}
		if n > 0 {
			return nil
		}
		u, err := tx.insertUser(in)
		if err != nil {
			return err
		}
		b := gatehouse.RoleBinding{User: u.Name, Role: gatehouse.RoleSuperAdmin, Scope: "*", CreatedBy: "system", CreatedAt: tx.now}
		if err := tx.QueryRowContext(ctx, `INSERT INTO role_bindings (subject_kind, subject_id, role, scope, created_by, created_at)
			VALUES ('user', $1, $2, '*', 'system', $3) RETURNING id`, u.ID, b.Role, micro(tx.now)).Scan(&b.ID); err != nil {
			return fmt.Errorf("bind super-admin: %w", err)
		}
		created = true
		return tx.audit(change{action: "rolebinding.create", resource: fmt.Sprintf("rolebinding/%d", b.ID), after: &b})
	})
	if gatehouse.KindOf(err) == gatehouse.KindConflict {
		// Another replica bootstrapped at the same moment.
		return gatehouse.Secret{}, false, nil
	}
	if err != nil || !created {
		return gatehouse.Secret{}, false, err
	}
	return password, true, nil
}
