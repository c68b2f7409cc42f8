package sqlstore

import (
	"context"
	"fmt"
	"slices"
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

// approverRoles may only be held by people: tokens and service accounts never approve, nor
// break the glass.
var approverRoles = map[gatehouse.Role]bool{gatehouse.RoleImageApprover: true, gatehouse.RoleConfigApprover: true, gatehouse.RoleBreakGlass: true}

// CreateRoleBinding implements gatehouse.RoleBindingService. It is a change of the
// principal's access: direct where it gives nobody a vote a policy counts, refused (pointing
// to an access draft) where it does.
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
		sub, err := resolveSubject(ctx, tx, gatehouse.DraftRef{Kind: gatehouse.DraftAccess, User: in.User, Group: in.Group})
		if err != nil {
			return err
		}
		access, err := readAccess(ctx, tx, sub.principal)
		if err != nil {
			return err
		}
		grant := gatehouse.RoleGrant{Role: in.Role, Scope: scope.String()}
		if slices.Contains(access.Roles, grant) {
			return gatehouse.Conflictf("%s %q already has role %s on %s", sub.principal.kind, sub.principal.name, in.Role, scope)
		}
		access.Roles = append(access.Roles, grant)
		id, err := tx.changeDirectly(sub, renderSetting(access), "")
		if err != nil {
			return err
		}
		b, err = scanBinding(tx.QueryRowContext(ctx, bindingSelect+` WHERE b.id = $1`, id))
		return err
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
		return tx.deleteBinding(b, nil)
	})
}

// deleteBinding revokes a binding, audited with details; the last super-admin binding stays,
// so the system always has someone who can manage it.
func (tx *Tx) deleteBinding(b *gatehouse.RoleBinding, details map[string]any) error {
	if b.Role == gatehouse.RoleSuperAdmin {
		var n int
		if err := tx.QueryRowContext(tx.ctx, `SELECT COUNT(*) FROM role_bindings WHERE role = $1`, gatehouse.RoleSuperAdmin).Scan(&n); err != nil {
			return fmt.Errorf("count super-admins: %w", err)
		}
		if n <= 1 {
			return gatehouse.Conflictf("role binding %d is the last super-admin binding: grant super-admin to someone else first", b.ID)
		}
	}
	if _, err := tx.ExecContext(tx.ctx, `DELETE FROM role_bindings WHERE id = $1`, b.ID); err != nil {
		return fmt.Errorf("delete role binding: %w", err)
	}
	sc, _ := gatehouse.ParseScope("scope", b.Scope)
	return tx.audit(change{action: "rolebinding.delete", resource: "rolebinding/" + strconv.FormatInt(b.ID, 10), target: scopeTarget(sc),
		before: b, details: nonEmptyAny(details)})
}
