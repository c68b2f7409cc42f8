package gatehouse

import (
	"slices"
	"strings"
)

// Role is a named set of actions, granted to a user or group on a scope by a RoleBinding.
type Role string

// The roles. Approver roles are separate from admin on purpose: managing an app never implies
// approving its deploys, and super-admin does not approve either. Nor can it give itself, or
// an account it made, a vote where a policy counts it: that takes an access draft the
// policy's own people pass (see Access).
const (
	RoleViewer         Role = "viewer"
	RoleDeployer       Role = "deployer"
	RoleImageApprover  Role = "image-approver"
	RoleConfigApprover Role = "config-approver"
	RoleAdmin          Role = "admin"
	RoleAccessManager  Role = "access-manager"
	RoleSuperAdmin     Role = "super-admin"
	// RoleBreakGlass lets a person who may deploy start a deployment in an emergency through
	// a closed window or without the image approval the gate demands, with a reason; every
	// use is reviewed afterwards by the approvers of what it passed over (see BreakGlass).
	RoleBreakGlass Role = "break-glass"
)

// Roles lists every role, least powerful first.
var Roles = []Role{RoleViewer, RoleDeployer, RoleImageApprover, RoleConfigApprover, RoleAdmin, RoleAccessManager, RoleSuperAdmin, RoleBreakGlass}

// Action is something a request does, checked against the actor's roles on a Target.
type Action string

// The actions. Every API endpoint names exactly one.
const (
	ActionView            Action = "view"             // read state, never secret values
	ActionViewSecrets     Action = "view-secrets"     // read secret values
	ActionManage          Action = "manage"           // create, update, delete projects, environments, apps, pipelines
	ActionPushArtifact    Action = "push-artifact"    // register artifacts built by CI
	ActionDeploy          Action = "deploy"           // trigger deployments and rollbacks
	ActionRequestApproval Action = "request-approval" // raise approval requests
	ActionApproveImage    Action = "approve-image"    // vote on image approval requests
	ActionApproveConfig   Action = "approve-config"   // vote on config drafts
	ActionViewAudit       Action = "view-audit"       // read and export the audit trail
	ActionGrant           Action = "grant"            // create and delete role bindings (see CanGrant)
	ActionAdminister      Action = "administer"       // clusters, users, groups, audit verification
	ActionBreakGlass      Action = "break-glass"      // deploy past closed windows and the image gate, with a reason
)

var roleActions = map[Role][]Action{
	RoleViewer:         {ActionView},
	RoleDeployer:       {ActionView, ActionPushArtifact, ActionDeploy, ActionRequestApproval},
	RoleImageApprover:  {ActionView, ActionApproveImage},
	RoleConfigApprover: {ActionView, ActionApproveConfig},
	RoleAdmin:          {ActionView, ActionViewSecrets, ActionManage, ActionPushArtifact, ActionDeploy, ActionRequestApproval, ActionViewAudit},
	RoleAccessManager:  {ActionView, ActionGrant},
	RoleBreakGlass:     {ActionView, ActionBreakGlass},
	RoleSuperAdmin: {ActionView, ActionViewSecrets, ActionManage, ActionPushArtifact, ActionDeploy,
		ActionRequestApproval, ActionViewAudit, ActionGrant, ActionAdminister},
}

// ValidateRole checks that r is one of Roles.
func ValidateRole(field string, r Role) error {
	if !slices.Contains(Roles, r) {
		names := make([]string, len(Roles))
		for i, x := range Roles {
			names[i] = string(x)
		}
		return Invalidf(field, "%q is not a role: expected one of %s", r, strings.Join(names, ", "))
	}
	return nil
}

// Allows reports whether the role includes the action.
func (r Role) Allows(a Action) bool { return slices.Contains(roleActions[r], a) }

// RolesAllowing lists the roles that include the action, for messages that say what is missing.
func RolesAllowing(a Action) []Role {
	var out []Role
	for _, r := range Roles {
		if r.Allows(a) {
			out = append(out, r)
		}
	}
	return out
}

// Grant is one role on one scope, as the access decision sees a role binding (after the
// subject's groups are resolved).
type Grant struct {
	Role  Role
	Scope Scope
}

// Can reports whether any grant allows the action on the target. It is the single access
// decision of Gatehouse: pure, and tested as a table.
func Can(grants []Grant, action Action, t Target) bool {
	for _, g := range grants {
		if g.Role.Allows(action) && g.Scope.Matches(t) {
			return true
		}
	}
	return false
}

// CanGrant reports whether holders of grants may create or delete a binding of role on scope.
// A super-admin may grant anything. Otherwise only super-admin may grant super-admin, and an
// access-manager may grant a role only where it holds both access-manager and that very role on
// scopes that cover the binding's scope: it can hand out what it has, nothing more.
func CanGrant(grants []Grant, role Role, scope Scope) bool {
	var managing, holding bool
	for _, g := range grants {
		if g.Role == RoleSuperAdmin && g.Scope == GlobalScope {
			return true
		}
		if g.Role == RoleAccessManager && g.Scope.Covers(scope) {
			managing = true
		}
		if g.Role == role && g.Scope.Covers(scope) {
			holding = true
		}
	}
	return role != RoleSuperAdmin && managing && holding
}

// directoryRoles are the roles whose holders see the whole directory of users and groups: they
// manage projects or grant roles to people, so they must know whom they deal with.
var directoryRoles = []Role{RoleSuperAdmin, RoleAdmin, RoleAccessManager}

// SeesDirectory reports whether holders of grants see the whole user and group directory,
// e-mails and group members included: whether they hold super-admin, admin or access-manager
// on any scope. Everyone else sees less (see UserService.Users), so a role-less person or a CI
// token cannot harvest the organisation's addresses.
func SeesDirectory(grants []Grant) bool {
	for _, g := range grants {
		if slices.Contains(directoryRoles, g.Role) {
			return true
		}
	}
	return false
}
