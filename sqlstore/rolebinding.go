package sqlstore

import (
	"context"
	"fmt"
	"strconv"

	"github.com/gatehousehq/gatehouse"
)

// RoleBindingService implements gatehouse.RoleBindingService.
type RoleBindingService struct{ db *DB }

// NewRoleBindingService returns the role binding service of db.
func NewRoleBindingService(db *DB) *RoleBindingService { return &RoleBindingService{db: db} }

const bindingSelect = `SELECT b.id, COALESCE(u.name, ''), COALESCE(g.name, ''), b.role, b.scope, b.created_by, b.created_at
	FROM role_bindings b
	LEFT JOIN users u ON b.subject_kind = 'user' AND u.id = b.subject_id
	LEFT JOIN user_groups g ON b.subject_kind = 'group' AND g.id = b.subject_id`

func scanBinding(row scanner) (*gatehouse.RoleBinding, error) {
	var b gatehouse.RoleBinding
	var created int64
	if err := row.Scan(&b.ID, &b.User, &b.Group, &b.Role, &b.Scope, &b.CreatedBy, &created); err != nil {
		return nil, err
	}
	b.CreatedAt = fromMicro(created)
	return &b, nil
}

// approverRoles may only be held by people: tokens and service accounts never approve.
var approverRoles = map[gatehouse.Role]bool{gatehouse.RoleImageApprover: true, gatehouse.RoleConfigApprover: true}

// CreateRoleBinding implements gatehouse.RoleBindingService.
func (s *RoleBindingService) CreateRoleBinding(ctx context.Context, in gatehouse.RoleBindingCreate) (*gatehouse.RoleBinding, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	scope, err := in.Validate()
	if err != nil {
		return nil, err
	}
	if !gatehouse.CanGrant(a.Grants, in.Role, scope) {
		return nil, gatehouse.Forbiddenf("%s may not grant %s on %s: an access-manager grants only roles it holds itself, within its scope", a.UserName, in.Role, scope)
	}
	var b *gatehouse.RoleBinding
	err = s.db.write(ctx, func(tx *Tx) error {
		kind, subject := "group", in.Group
		var sid int64
		if in.User != "" {
			kind, subject = "user", in.User
			u, err := findUser(ctx, tx, in.User)
			if err != nil {
				return gatehouse.Invalidf("user", "user %q does not exist", in.User)
			}
			if u.Kind != gatehouse.HumanUser && approverRoles[in.Role] {
				return gatehouse.Invalidf("role", "%s is a service account: approver roles are for people only", u.Name)
			}
			sid = u.ID
		} else {
			g, err := findGroup(ctx, tx, in.Group)
			if err != nil {
				return gatehouse.Invalidf("group", "group %q does not exist", in.Group)
			}
			sid = g.ID
		}
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO role_bindings (subject_kind, subject_id, role, scope, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, kind, sid, in.Role, scope.String(), a.UserName, micro(tx.now)).Scan(&id)
		if isUniqueViolation(err) {
			return gatehouse.Conflictf("%s %q already has role %s on %s", kind, subject, in.Role, scope)
		} else if err != nil {
			return fmt.Errorf("insert role binding: %w", err)
		}
		b = &gatehouse.RoleBinding{ID: id, User: in.User, Group: in.Group, Role: in.Role, Scope: scope.String(), CreatedBy: a.UserName, CreatedAt: tx.now}
		return tx.audit(change{action: "rolebinding.create", resource: "rolebinding/" + strconv.FormatInt(id, 10), target: scopeTarget(scope), after: b})
	})
	return b, err
}

// scopeTarget files a binding's audit event under its project (when it names one).
func scopeTarget(sc gatehouse.Scope) gatehouse.Target {
	if sc.Project == "*" {
		return gatehouse.Target{}
	}
	t := gatehouse.Target{Project: sc.Project}
	if sc.App != "*" {
		t.App = sc.App
	}
	if sc.Env != "*" {
		t.Env = sc.Env
	}
	return t
}

// RoleBindings implements gatehouse.RoleBindingService. A caller sees its own bindings (and
// its groups'), bindings on projects it can see, and everything when it can see the system.
func (s *RoleBindingService) RoleBindings(ctx context.Context, f gatehouse.RoleBindingFilter) ([]*gatehouse.RoleBinding, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	all, err := queryAll(ctx, s.db.r, scanBinding, bindingSelect+` ORDER BY b.id`)
	if err != nil {
		return nil, fmt.Errorf("list role bindings: %w", err)
	}
	var userGroups map[string]bool
	if f.User != "" {
		u, err := readUser(ctx, s.db.r, f.User, directoryOf(a)) // one the caller does not see is not found
		if err != nil {
			return nil, err
		}
		userGroups = map[string]bool{}
		for _, g := range u.Groups {
			userGroups[g] = true
		}
	}
	own := map[string]bool{}
	for _, g := range a.Groups {
		own[g] = true
	}
	return keep(all, func(b *gatehouse.RoleBinding) bool {
		sc, err := gatehouse.ParseScope("scope", b.Scope)
		if err != nil {
			return false
		}
		switch {
		case f.User != "" && b.User != f.User && !userGroups[b.Group]:
			return false
		case f.Group != "" && b.Group != f.Group:
			return false
		case f.Project != "" && sc.Project != "*" && sc.Project != f.Project:
			return false
		}
		mine := b.User == a.UserName || own[b.Group]
		return mine || a.CanSee(gatehouse.Target{}) || (sc.Project != "*" && a.CanSee(gatehouse.Target{Project: sc.Project}))
	}), nil
}

// DeleteRoleBinding implements gatehouse.RoleBindingService. The last super-admin binding
// cannot be deleted, so the system always has someone who can manage it.
func (s *RoleBindingService) DeleteRoleBinding(ctx context.Context, id int64) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	return s.db.write(ctx, func(tx *Tx) error {
		b, err := scanBinding(tx.QueryRowContext(ctx, bindingSelect+` WHERE b.id = $1`, id))
		if err != nil {
			return notFoundOr(err, "role binding %d not found", id)
		}
		scope, err := gatehouse.ParseScope("scope", b.Scope)
		if err != nil {
			return err
		}
		if !gatehouse.CanGrant(a.Grants, b.Role, scope) {
			return gatehouse.Forbiddenf("%s may not revoke %s on %s: an access-manager revokes only roles it holds itself, within its scope", a.UserName, b.Role, scope)
		}
		if b.Role == gatehouse.RoleSuperAdmin {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM role_bindings WHERE role = $1`, gatehouse.RoleSuperAdmin).Scan(&n); err != nil {
				return fmt.Errorf("count super-admins: %w", err)
			}
			if n <= 1 {
				return gatehouse.Conflictf("role binding %d is the last super-admin binding: grant super-admin to someone else first", id)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM role_bindings WHERE id = $1`, id); err != nil {
			return fmt.Errorf("delete role binding: %w", err)
		}
		return tx.audit(change{action: "rolebinding.delete", resource: "rolebinding/" + strconv.FormatInt(id, 10), target: scopeTarget(scope), before: b})
	})
}
