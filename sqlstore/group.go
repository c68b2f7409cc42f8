package sqlstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/gatehousehq/gatehouse"
)

// GroupService implements gatehouse.GroupService.
type GroupService struct{ db *DB }

// NewGroupService returns the group service of db.
func NewGroupService(db *DB) *GroupService { return &GroupService{db: db} }

// findGroup reads a group with its members, seeing the whole directory: for Gatehouse's own
// reads, never to answer a caller (readGroup does).
func findGroup(ctx context.Context, q querier, name string) (*gatehouse.Group, error) {
	return readGroup(ctx, q, name, wholeDirectory)
}

// readGroup reads a group that d sees, with the members d sees; a group d does not see is not
// found, as one that does not exist.
func readGroup(ctx context.Context, q querier, name string, d directory) (*gatehouse.Group, error) {
	var g gatehouse.Group
	var created int64
	err := q.QueryRowContext(ctx, `SELECT g.id, g.name, g.description, g.created_at FROM user_groups g WHERE g.name = $1 AND `+d.seesGroup("g", 2),
		append([]any{name}, d.args()...)...).Scan(&g.ID, &g.Name, &g.Description, &created)
	if err != nil {
		return nil, notFoundOr(err, "group %q not found", name)
	}
	g.CreatedAt = fromMicro(created)
	members, err := queryAll(ctx, q, scanString, `SELECT u.name FROM users u JOIN group_members m ON m.user_id = u.id
		WHERE m.group_id = $1 AND `+d.seesUser("u", 2)+` ORDER BY u.name`, append([]any{g.ID}, d.args()...)...)
	if err != nil {
		return nil, fmt.Errorf("group members: %w", err)
	}
	g.Members = append([]string{}, members...)
	return &g, nil
}

// userID resolves a user name; an unknown user is invalid input in field.
func userID(ctx context.Context, q querier, field, name string) (int64, error) {
	var id int64
	if err := q.QueryRowContext(ctx, `SELECT id FROM users WHERE name = $1`, name).Scan(&id); err != nil {
		return 0, notFoundOr(err, "%s: user %q not found", field, name)
	}
	return id, nil
}

// CreateGroup implements gatehouse.GroupService.
func (s *GroupService) CreateGroup(ctx context.Context, in gatehouse.GroupCreate) (*gatehouse.Group, error) {
	if _, err := requireAdminister(ctx); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var g *gatehouse.Group
	err := s.db.write(ctx, func(tx *Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO user_groups (name, description, created_at) VALUES ($1, $2, $3) RETURNING id`,
			in.Name, in.Description, micro(tx.now)).Scan(&id)
		if isUniqueViolation(err) {
			return gatehouse.Conflictf("group %q already exists", in.Name)
		} else if err != nil {
			return fmt.Errorf("insert group: %w", err)
		}
		for _, m := range in.Members {
			uid, err := userID(ctx, tx, "members", m)
			if err != nil {
				return gatehouse.Invalidf("members", "user %q does not exist", m)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, id, uid); err != nil {
				return fmt.Errorf("add member: %w", err)
			}
		}
		if g, err = findGroup(ctx, tx, in.Name); err != nil {
			return err
		}
		return tx.audit(change{action: "group.create", resource: "group/" + g.Name, after: g})
	})
	return g, err
}

// Group implements gatehouse.GroupService.
func (s *GroupService) Group(ctx context.Context, name string) (*gatehouse.Group, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	return readGroup(ctx, s.db.r, name, directoryOf(a))
}

// Groups implements gatehouse.GroupService.
func (s *GroupService) Groups(ctx context.Context) ([]*gatehouse.Group, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	d := directoryOf(a)
	names, err := queryAll(ctx, s.db.r, scanString, `SELECT g.name FROM user_groups g WHERE `+d.seesGroup("g", 1)+` ORDER BY g.name`, d.args()...)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	out := make([]*gatehouse.Group, 0, len(names))
	for _, n := range names {
		g, err := readGroup(ctx, s.db.r, n, d)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// DeleteGroup implements gatehouse.GroupService.
func (s *GroupService) DeleteGroup(ctx context.Context, name string) error {
	if _, err := requireAdminister(ctx); err != nil {
		return err
	}
	return s.db.write(ctx, func(tx *Tx) error {
		g, err := findGroup(ctx, tx, name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM role_bindings WHERE subject_kind = 'group' AND subject_id = $1`, g.ID); err != nil {
			return fmt.Errorf("delete group bindings: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM user_groups WHERE id = $1`, g.ID); err != nil {
			return fmt.Errorf("delete group: %w", err)
		}
		return tx.audit(change{action: "group.delete", resource: "group/" + name, before: g})
	})
}

// AddGroupMember implements gatehouse.GroupService. It is a change of the group's access:
// direct where it gives the person no vote a policy counts, refused (pointing to an access
// draft) where it does.
func (s *GroupService) AddGroupMember(ctx context.Context, group, user string) (*gatehouse.Group, error) {
	if _, err := requireAdminister(ctx); err != nil {
		return nil, err
	}
	var after *gatehouse.Group
	err := s.db.write(ctx, func(tx *Tx) error {
		if _, err := findGroup(ctx, tx, group); err != nil {
			return err
		}
		if _, err := userID(ctx, tx, "user", user); err != nil {
			return err
		}
		sub, err := resolveSubject(ctx, tx, gatehouse.DraftRef{Kind: gatehouse.DraftAccess, Group: group})
		if err != nil {
			return err
		}
		access, err := readAccess(ctx, tx, sub.principal)
		if err != nil {
			return err
		}
		if !slices.Contains(access.Members, user) {
			access.Members = append(access.Members, user)
			if _, err := tx.changeDirectly(sub, renderSetting(access), ""); err != nil {
				return err
			}
		}
		after, err = findGroup(ctx, tx, group)
		return err
	})
	return after, err
}

// RemoveGroupMember implements gatehouse.GroupService. Taking a vote away applies at once.
func (s *GroupService) RemoveGroupMember(ctx context.Context, group, user string) (*gatehouse.Group, error) {
	const action, stmt = "group.remove_member", `DELETE FROM group_members WHERE group_id = $1 AND user_id = $2`
	if _, err := requireAdminister(ctx); err != nil {
		return nil, err
	}
	var after *gatehouse.Group
	err := s.db.write(ctx, func(tx *Tx) error {
		before, err := findGroup(ctx, tx, group)
		if err != nil {
			return err
		}
		uid, err := userID(ctx, tx, "user", user)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, stmt, before.ID, uid)
		if err != nil {
			return fmt.Errorf("%s: %w", action, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return gatehouse.NotFoundf("user %q is not a member of group %q", user, group)
		}
		if after, err = findGroup(ctx, tx, group); err != nil {
			return err
		}
		return tx.audit(change{action: action, resource: "group/" + group, before: before, after: after,
			details: map[string]string{"user": user}})
	})
	return after, err
}
