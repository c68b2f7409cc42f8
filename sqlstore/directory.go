package sqlstore

import (
	"fmt"
	"strconv"

	"github.com/gatehousehq/gatehouse"
)

// directory is what of the user and group directory a caller sees. One who sees it whole
// (gatehouse.SeesDirectory) sees every user with e-mail and every group with its members.
// Anyone else sees themselves; the users bound, directly or through a group, on a scope that
// reaches a project they are bound in themselves (a scope on every project reaches each one);
// the groups bound there and their own groups. Of others they see no e-mail, and of a group
// only the members they see. Visibility is a SQL condition, so lists are cut in the query
// and a user or group the caller does not see is simply not found.
type directory struct {
	all  bool
	self int64 // the caller's user id
}

// wholeDirectory sees everything: Gatehouse's own reads (bindings, notifications) use it.
var wholeDirectory = directory{all: true}

func directoryOf(a *gatehouse.Actor) directory {
	return directory{all: gatehouse.SeesDirectory(a.Grants), self: a.UserID}
}

// args are the values of the placeholders of seesUser and seesGroup: none when the caller
// sees everything, else the caller's id. Queries put them last, after their own.
func (d directory) args() []any {
	if d.all {
		return nil
	}
	return []any{d.self}
}

// seesUser is the SQL condition that the caller sees the user row u; $n is the caller's id.
func (d directory) seesUser(u string, n int) string {
	if d.all {
		return "1 = 1"
	}
	self := "$" + strconv.Itoa(n)
	return fmt.Sprintf(`(%[1]s.id = %[2]s OR EXISTS (SELECT 1 FROM role_bindings xb JOIN projects xp ON %[3]s
		WHERE %[4]s AND xp.id IN (%[5]s)))`, u, self, reaches("xb", "xp"), boundTo("xb", u+".id"), callerProjects(self))
}

// seesGroup is the SQL condition that the caller sees the group row g; $n is the caller's id.
func (d directory) seesGroup(g string, n int) string {
	if d.all {
		return "1 = 1"
	}
	self := "$" + strconv.Itoa(n)
	return fmt.Sprintf(`(EXISTS (SELECT 1 FROM group_members sm WHERE sm.group_id = %[1]s.id AND sm.user_id = %[2]s)
		OR EXISTS (SELECT 1 FROM role_bindings gb JOIN projects gp ON %[3]s
			WHERE gb.subject_kind = 'group' AND gb.subject_id = %[1]s.id AND gp.id IN (%[4]s)))`,
		g, self, reaches("gb", "gp"), callerProjects(self))
}

// mask removes what the caller may not read of a user it sees: others' e-mail addresses.
func (d directory) mask(u *gatehouse.User) *gatehouse.User {
	if !d.all && u.ID != d.self {
		u.Email = ""
	}
	return u
}

// callerProjects selects the ids of the projects the user whose id is the SQL expression user
// is bound in, directly or through a group.
func callerProjects(user string) string {
	return `SELECT vp.id FROM projects vp JOIN role_bindings vb ON ` + reaches("vb", "vp") + ` WHERE ` + boundTo("vb", user)
}

// reaches is the SQL condition that role binding b's scope reaches project p: a scope on every
// project ("*", "project:*/…") or one on p. Project names are slugs, so they hold no LIKE
// wildcards.
func reaches(b, p string) string {
	return fmt.Sprintf(`(%[1]s.scope = '*' OR %[1]s.scope LIKE 'project:*/%%' OR %[1]s.scope = 'project:' || %[2]s.name
		OR %[1]s.scope LIKE 'project:' || %[2]s.name || '/%%')`, b, p)
}

// boundTo is the SQL condition that role binding b applies to the user whose id is the SQL
// expression user: bound to the user, or to a group the user is in.
func boundTo(b, user string) string {
	return fmt.Sprintf(`((%[1]s.subject_kind = 'user' AND %[1]s.subject_id = %[2]s)
		OR (%[1]s.subject_kind = 'group' AND %[1]s.subject_id IN (SELECT group_id FROM group_members WHERE user_id = %[2]s)))`, b, user)
}
