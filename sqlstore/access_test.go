package sqlstore_test

import (
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

func TestStoreEnforcesAccess(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		f.world()
		_, err := f.projects.CreateProject(f.admin, gatehouse.ProjectCreate{Name: "bank"})
		f.must(err)
		vera := f.person("vera", "viewer@project:shop")
		dan := f.person("dan", "deployer@project:shop/env:prod")
		ana := f.person("ana", "admin@project:shop/app:web")

		_, err = f.projects.CreateProject(vera, gatehouse.ProjectCreate{Name: "x"})
		wantErr(t, err, gatehouse.KindForbidden, "vera may not manage on the system")
		_, err = f.apps.CreateApp(vera, "shop", gatehouse.AppCreate{Name: "x"})
		wantErr(t, err, gatehouse.KindForbidden, "needs role admin or super-admin")
		_, err = f.arts.CreateArtifact(vera, "shop", "web", gatehouse.ArtifactCreate{Image: "r.example.com/web@" + digest1})
		wantErr(t, err, gatehouse.KindForbidden, "push-artifact")

		// Visibility: bank is invisible (not found, not forbidden) to shop's people.
		_, err = f.projects.Project(vera, "bank")
		wantErr(t, err, gatehouse.KindNotFound)
		list, err := f.projects.Projects(dan)
		f.must(err)
		if len(list) != 1 || list[0].Name != "shop" {
			t.Fatalf("dan sees %v", list)
		}
		envs, err := f.envs.Environments(dan, "shop")
		f.must(err)
		if len(envs) != 1 || envs[0].Name != "prod" {
			t.Fatalf("dan sees environments %v, want only prod", envs)
		}
		_, err = f.envs.Environment(dan, "shop", "dev")
		wantErr(t, err, gatehouse.KindNotFound)

		// An app admin manages its app but not the project or other apps.
		desc := "x"
		_, err = f.apps.UpdateApp(ana, "shop", "web", gatehouse.AppUpdate{Description: &desc})
		f.must(err)
		_, err = f.apps.CreateApp(ana, "shop", gatehouse.AppCreate{Name: "api"})
		wantErr(t, err, gatehouse.KindForbidden)
		_, err = f.projects.UpdateProject(ana, "shop", gatehouse.ProjectUpdate{Description: &desc})
		wantErr(t, err, gatehouse.KindForbidden)
		wantErr(t, f.apps.DeleteApp(ana, "shop", "web"), gatehouse.KindForbidden)

		// System-level: only super-admin.
		_, err = f.clusters.CreateCluster(ana, gatehouse.ClusterCreate{Name: "c9", Kubeconfig: gatehouse.NewSecret(kubeconfig)})
		wantErr(t, err, gatehouse.KindForbidden)
		_, err = f.users.CreateUser(ana, gatehouse.UserCreate{Name: "eve", Password: gatehouse.NewSecret(password)})
		wantErr(t, err, gatehouse.KindForbidden)
		_, err = f.audit.VerifyAudit(ana)
		wantErr(t, err, gatehouse.KindForbidden)
		_, err = f.audit.AuditEvents(vera, gatehouse.AuditFilter{Project: "shop"})
		wantErr(t, err, gatehouse.KindForbidden, "view-audit")
		_, err = f.audit.AuditEvents(ana, gatehouse.AuditFilter{Project: "shop", App: "web"})
		f.must(err)

		// Without an actor, nothing.
		_, err = f.projects.Projects(t.Context())
		wantErr(t, err, gatehouse.KindUnauthenticated)
	})
}

func TestRoleBindingRules(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		f.world()
		mia := f.person("mia", "access-manager@project:shop", "deployer@project:shop")
		f.person("ned")
		_, err := f.bindings.CreateRoleBinding(mia, gatehouse.RoleBindingCreate{User: "ned", Role: gatehouse.RoleDeployer, Scope: "project:shop/env:prod"})
		f.must(err)
		_, err = f.bindings.CreateRoleBinding(mia, gatehouse.RoleBindingCreate{User: "ned", Role: gatehouse.RoleImageApprover, Scope: "project:shop"})
		wantErr(t, err, gatehouse.KindForbidden, "grants only roles it holds")
		_, err = f.bindings.CreateRoleBinding(mia, gatehouse.RoleBindingCreate{User: "ned", Role: gatehouse.RoleDeployer, Scope: "project:bank"})
		wantErr(t, err, gatehouse.KindForbidden)
		_, err = f.bindings.CreateRoleBinding(mia, gatehouse.RoleBindingCreate{User: "ned", Role: gatehouse.RoleDeployer, Scope: "project:shop/env:prod"})
		wantErr(t, err, gatehouse.KindConflict, "already has role deployer")
		_, err = f.bindings.CreateRoleBinding(f.admin, gatehouse.RoleBindingCreate{User: "ghost", Role: gatehouse.RoleDeployer, Scope: "project:shop"})
		wantErr(t, err, gatehouse.KindInvalid, "user:", "does not exist")
		_, err = f.bindings.CreateRoleBinding(f.admin, gatehouse.RoleBindingCreate{User: "ned", Role: gatehouse.RoleSuperAdmin, Scope: "project:shop"})
		wantErr(t, err, gatehouse.KindInvalid, "scope:", "global scope only")
		_, err = f.bindings.CreateRoleBinding(f.admin, gatehouse.RoleBindingCreate{User: "ned", Group: "x", Role: gatehouse.RoleViewer, Scope: "*"})
		wantErr(t, err, gatehouse.KindInvalid, "exactly one of user or group")

		// Service accounts never hold approver roles.
		_, err = f.users.CreateUser(f.admin, gatehouse.UserCreate{Name: "ci", Kind: gatehouse.ServiceAccount})
		f.must(err)
		_, err = f.bindings.CreateRoleBinding(f.admin, gatehouse.RoleBindingCreate{User: "ci", Role: gatehouse.RoleImageApprover, Scope: "project:shop"})
		wantErr(t, err, gatehouse.KindInvalid, "approver roles are for people only")

		// People see who holds access to the projects they see, not the system's super-admins.
		ned := f.login("ned")
		seen, err := f.bindings.RoleBindings(ned, gatehouse.RoleBindingFilter{})
		f.must(err)
		if len(seen) != 3 {
			t.Fatalf("ned sees %d bindings, want mia's two and his own", len(seen))
		}
		for _, b := range seen {
			if b.Scope == "*" {
				t.Fatalf("ned sees a global binding: %+v", b)
			}
		}
		mine, err := f.bindings.RoleBindings(ned, gatehouse.RoleBindingFilter{User: "ned"})
		f.must(err)
		if len(mine) != 1 || mine[0].User != "ned" || mine[0].Scope != "project:shop/env:prod" || mine[0].CreatedBy != "mia" {
			t.Fatalf("ned's own = %+v", mine)
		}
		all, err := f.bindings.RoleBindings(f.admin, gatehouse.RoleBindingFilter{User: "mia"})
		f.must(err)
		if len(all) != 2 {
			t.Fatalf("mia's bindings = %+v", all)
		}
		// The last super-admin binding stays.
		supers, err := f.bindings.RoleBindings(f.admin, gatehouse.RoleBindingFilter{User: "admin"})
		f.must(err)
		wantErr(t, f.bindings.DeleteRoleBinding(f.admin, supers[0].ID), gatehouse.KindConflict, "last super-admin")
		wantErr(t, f.bindings.DeleteRoleBinding(mia, supers[0].ID), gatehouse.KindForbidden)
		f.must(f.bindings.DeleteRoleBinding(mia, mine[0].ID))
		wantErr(t, f.bindings.DeleteRoleBinding(mia, mine[0].ID), gatehouse.KindNotFound)
	})
}
