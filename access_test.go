package gatehouse_test

import (
	"math/rand/v2"
	"testing"

	"github.com/gatehousehq/gatehouse"
)

func mustScope(t *testing.T, s string) gatehouse.Scope {
	t.Helper()
	sc, err := gatehouse.ParseScope("scope", s)
	if err != nil {
		t.Fatalf("ParseScope(%q): %v", s, err)
	}
	return sc
}

func TestCan(t *testing.T) {
	shop := gatehouse.Target{Project: "shop"}
	shopWeb := gatehouse.Target{Project: "shop", App: "web"}
	shopWebProd := gatehouse.Target{Project: "shop", App: "web", Env: "prod"}
	shopProd := gatehouse.Target{Project: "shop", Env: "prod"}
	bankWebProd := gatehouse.Target{Project: "bank", App: "web", Env: "prod"}
	system := gatehouse.Target{}
	tests := []struct {
		role   gatehouse.Role
		scope  string
		action gatehouse.Action
		target gatehouse.Target
		want   bool
	}{
		{gatehouse.RoleViewer, "project:shop", gatehouse.ActionView, shopWebProd, true},
		{gatehouse.RoleViewer, "project:shop", gatehouse.ActionDeploy, shopWebProd, false},
		{gatehouse.RoleViewer, "project:shop", gatehouse.ActionViewSecrets, shopWeb, false},
		{gatehouse.RoleViewer, "project:shop", gatehouse.ActionView, bankWebProd, false},
		{gatehouse.RoleDeployer, "project:shop/env:prod", gatehouse.ActionDeploy, shopWebProd, true},
		{gatehouse.RoleDeployer, "project:shop/env:prod", gatehouse.ActionDeploy, gatehouse.Target{Project: "shop", App: "web", Env: "dev"}, false},
		{gatehouse.RoleDeployer, "project:shop/env:prod", gatehouse.ActionDeploy, shopWeb, false}, // env-scoped never reaches app level
		{gatehouse.RoleDeployer, "project:shop/env:*", gatehouse.ActionDeploy, shopWebProd, true},
		{gatehouse.RoleDeployer, "project:shop/env:*", gatehouse.ActionDeploy, shop, false},
		{gatehouse.RoleDeployer, "project:shop/app:web", gatehouse.ActionDeploy, shopWebProd, true},
		{gatehouse.RoleDeployer, "project:shop/app:web", gatehouse.ActionDeploy, gatehouse.Target{Project: "shop", App: "api", Env: "prod"}, false},
		{gatehouse.RoleDeployer, "project:shop/app:web/env:prod", gatehouse.ActionDeploy, shopWebProd, true},
		{gatehouse.RoleDeployer, "project:shop/app:web/env:prod", gatehouse.ActionDeploy, shopProd, false},
		{gatehouse.RoleDeployer, "project:*/env:prod", gatehouse.ActionDeploy, bankWebProd, true},
		{gatehouse.RoleDeployer, "project:shop", gatehouse.ActionManage, shopWeb, false},
		{gatehouse.RoleDeployer, "project:shop", gatehouse.ActionApproveImage, shopWebProd, false},
		{gatehouse.RoleImageApprover, "project:shop", gatehouse.ActionApproveImage, shopWebProd, true},
		{gatehouse.RoleImageApprover, "project:shop", gatehouse.ActionApproveConfig, shopWebProd, false},
		{gatehouse.RoleImageApprover, "project:shop", gatehouse.ActionDeploy, shopWebProd, false},
		{gatehouse.RoleConfigApprover, "project:shop", gatehouse.ActionApproveConfig, shopWebProd, true},
		{gatehouse.RoleAdmin, "project:shop", gatehouse.ActionManage, shopWeb, true},
		{gatehouse.RoleAdmin, "project:shop", gatehouse.ActionViewSecrets, shopWeb, true},
		{gatehouse.RoleAdmin, "project:shop", gatehouse.ActionApproveImage, shopWebProd, false},
		{gatehouse.RoleAdmin, "project:shop", gatehouse.ActionManage, system, false},
		{gatehouse.RoleAdmin, "project:shop/app:web", gatehouse.ActionManage, shop, false},
		{gatehouse.RoleAdmin, "*", gatehouse.ActionManage, system, true},
		{gatehouse.RoleAdmin, "*", gatehouse.ActionAdminister, system, false},
		{gatehouse.RoleAccessManager, "project:shop", gatehouse.ActionGrant, shop, true},
		{gatehouse.RoleAccessManager, "project:shop", gatehouse.ActionManage, shop, false},
		{gatehouse.RoleSuperAdmin, "*", gatehouse.ActionAdminister, system, true},
		{gatehouse.RoleSuperAdmin, "*", gatehouse.ActionDeploy, bankWebProd, true},
		{gatehouse.RoleSuperAdmin, "*", gatehouse.ActionApproveImage, bankWebProd, false},
		{gatehouse.RoleSuperAdmin, "*", gatehouse.ActionApproveConfig, bankWebProd, false},
		{gatehouse.RoleViewer, "project:*", gatehouse.ActionView, system, true}, // "project:*" is the global scope
		{gatehouse.RoleViewer, "project:*/env:*", gatehouse.ActionView, system, false},
	}
	for _, tt := range tests {
		grants := []gatehouse.Grant{{Role: tt.role, Scope: mustScope(t, tt.scope)}}
		if got := gatehouse.Can(grants, tt.action, tt.target); got != tt.want {
			t.Errorf("Can(%s on %s, %s, %s) = %v, want %v", tt.role, tt.scope, tt.action, tt.target, got, tt.want)
		}
	}
	if gatehouse.Can(nil, gatehouse.ActionView, shop) {
		t.Error("no grants must allow nothing")
	}
}

func TestCanGrant(t *testing.T) {
	g := func(role gatehouse.Role, scope string) gatehouse.Grant {
		return gatehouse.Grant{Role: role, Scope: mustScope(t, scope)}
	}
	manager := []gatehouse.Grant{g(gatehouse.RoleAccessManager, "project:shop"), g(gatehouse.RoleDeployer, "project:shop"), g(gatehouse.RoleViewer, "*")}
	tests := []struct {
		grants []gatehouse.Grant
		role   gatehouse.Role
		scope  string
		want   bool
	}{
		{manager, gatehouse.RoleDeployer, "project:shop", true},
		{manager, gatehouse.RoleDeployer, "project:shop/env:prod", true},
		{manager, gatehouse.RoleDeployer, "project:bank", false},      // outside its scope
		{manager, gatehouse.RoleImageApprover, "project:shop", false}, // a role it does not hold
		{manager, gatehouse.RoleAccessManager, "project:shop", true},  // it holds access-manager there
		{manager, gatehouse.RoleViewer, "project:bank", false},        // holds viewer there but does not manage it
		{manager, gatehouse.RoleDeployer, "*", false},
		{manager, gatehouse.RoleSuperAdmin, "*", false},
		{[]gatehouse.Grant{g(gatehouse.RoleDeployer, "project:shop")}, gatehouse.RoleDeployer, "project:shop", false},
		{[]gatehouse.Grant{g(gatehouse.RoleAccessManager, "project:shop/app:web"), g(gatehouse.RoleDeployer, "project:shop")}, gatehouse.RoleDeployer, "project:shop", false},
		{[]gatehouse.Grant{g(gatehouse.RoleAccessManager, "project:shop/app:web"), g(gatehouse.RoleDeployer, "project:shop")}, gatehouse.RoleDeployer, "project:shop/app:web/env:prod", true},
		{[]gatehouse.Grant{g(gatehouse.RoleSuperAdmin, "*")}, gatehouse.RoleImageApprover, "project:shop", true},
		{[]gatehouse.Grant{g(gatehouse.RoleSuperAdmin, "*")}, gatehouse.RoleSuperAdmin, "*", true},
		{[]gatehouse.Grant{g(gatehouse.RoleAccessManager, "*"), g(gatehouse.RoleSuperAdmin, "project:x")}, gatehouse.RoleSuperAdmin, "*", false},
	}
	for _, tt := range tests {
		if got := gatehouse.CanGrant(tt.grants, tt.role, mustScope(t, tt.scope)); got != tt.want {
			t.Errorf("CanGrant(%v, %s, %s) = %v, want %v", tt.grants, tt.role, tt.scope, got, tt.want)
		}
	}
}

func TestParseScope(t *testing.T) {
	valid := map[string]gatehouse.Scope{
		"*":                           gatehouse.GlobalScope,
		"project:*":                   gatehouse.GlobalScope,
		"project:shop":                {Project: "shop"},
		"project:shop/app:web":        {Project: "shop", App: "web"},
		"project:shop/env:*":          {Project: "shop", Env: "*"},
		"project:shop/app:web/env:pr": {Project: "shop", App: "web", Env: "pr"},
	}
	for in, want := range valid {
		got, err := gatehouse.ParseScope("scope", in)
		if err != nil || got != want {
			t.Errorf("ParseScope(%q) = %v, %v; want %v", in, got, err, want)
		}
		if again, err := gatehouse.ParseScope("scope", got.String()); err != nil || again != got {
			t.Errorf("round trip of %q: %q gives %v, %v", in, got.String(), again, err)
		}
	}
	for _, in := range []string{"", "shop", "project:", "project:Shop", "app:web", "env:prod", "project:shop/env:prod/app:web",
		"project:shop/app:web/app:api", "project:shop//env:x", "project:shop/team:x"} {
		_, err := gatehouse.ParseScope("scope", in)
		var e *gatehouse.Error
		if err == nil || gatehouse.KindOf(err) != gatehouse.KindInvalid {
			t.Errorf("ParseScope(%q) = %v, want an invalid error", in, err)
		} else if e, _ = err.(*gatehouse.Error); e.Field != "scope" {
			t.Errorf("ParseScope(%q) error names field %q, want scope", in, e.Field)
		}
	}
}

// TestScopeCoversImpliesMatches checks the property access-managers rely on: if scope s covers
// scope o, every target o matches is matched by s too.
func TestScopeCoversImpliesMatches(t *testing.T) {
	names := []string{"", "*", "a", "b"}
	projects := []string{"*", "a", "b"}
	targets := []string{"", "a", "b"}
	r := rand.New(rand.NewPCG(1, 2))
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	covered := 0
	for i := 0; i < 20000; i++ {
		s := gatehouse.Scope{Project: pick(projects), App: pick(names), Env: pick(names)}
		o := gatehouse.Scope{Project: pick(projects), App: pick(names), Env: pick(names)}
		tg := gatehouse.Target{Project: pick(targets), App: pick(targets), Env: pick(targets)}
		if !s.Covers(o) {
			continue
		}
		covered++
		if o.Matches(tg) && !s.Matches(tg) {
			t.Fatalf("%v covers %v, and %v matches %v, but %v does not", s, o, o, tg, s)
		}
		if !s.Covers(s) {
			t.Fatalf("%v does not cover itself", s)
		}
	}
	if covered < 1000 {
		t.Fatalf("only %d covering pairs generated: the property was barely exercised", covered)
	}
}

func TestOverlapsLetsNarrowGrantsSeeTheirProject(t *testing.T) {
	a := &gatehouse.Actor{UserName: "d", Grants: []gatehouse.Grant{{Role: gatehouse.RoleDeployer, Scope: mustScope(t, "project:shop/env:prod")}}}
	for tg, want := range map[gatehouse.Target]bool{
		{Project: "shop"}:              true,
		{Project: "shop", App: "web"}:  true,
		{Project: "shop", Env: "prod"}: true,
		{Project: "shop", Env: "dev"}:  false,
		{Project: "bank"}:              false,
		{}:                             false,
		{Project: "shop", App: "web", Env: "stage"}: false,
	} {
		if got := a.CanSee(tg); got != want {
			t.Errorf("CanSee(%v) = %v, want %v", tg, got, want)
		}
	}
}

func TestRequireExplainsWhatIsMissing(t *testing.T) {
	a := &gatehouse.Actor{UserName: "vera", Grants: []gatehouse.Grant{{Role: gatehouse.RoleViewer, Scope: mustScope(t, "project:shop")}}}
	err := a.Require(gatehouse.ActionDeploy, gatehouse.Target{Project: "shop", App: "web", Env: "prod"})
	if gatehouse.KindOf(err) != gatehouse.KindForbidden {
		t.Fatalf("Require = %v, want forbidden", err)
	}
	want := "vera may not deploy on project shop, app web, environment prod: needs role deployer or admin or super-admin on a scope that covers it"
	if err.Error() != want {
		t.Errorf("message = %q\nwant      %q", err.Error(), want)
	}
	var nobody *gatehouse.Actor
	if gatehouse.KindOf(nobody.Require(gatehouse.ActionView, gatehouse.Target{Project: "shop"})) != gatehouse.KindUnauthenticated {
		t.Error("a nil actor must be unauthenticated")
	}
}

// TestSeesDirectory: super-admin, admin and access-manager on any scope see the whole
// directory; approvers, deployers, viewers and the role-less do not.
func TestSeesDirectory(t *testing.T) {
	for _, tt := range []struct {
		grants []gatehouse.Grant
		want   bool
	}{
		{nil, false},
		{[]gatehouse.Grant{{Role: gatehouse.RoleViewer, Scope: gatehouse.GlobalScope}}, false},
		{[]gatehouse.Grant{{Role: gatehouse.RoleDeployer, Scope: mustScope(t, "project:shop")}, {Role: gatehouse.RoleImageApprover, Scope: gatehouse.GlobalScope}}, false},
		{[]gatehouse.Grant{{Role: gatehouse.RoleConfigApprover, Scope: mustScope(t, "project:shop")}}, false},
		{[]gatehouse.Grant{{Role: gatehouse.RoleViewer, Scope: mustScope(t, "project:shop")}, {Role: gatehouse.RoleAdmin, Scope: mustScope(t, "project:shop/app:web")}}, true},
		{[]gatehouse.Grant{{Role: gatehouse.RoleAccessManager, Scope: mustScope(t, "project:bank/env:prod")}}, true},
		{gatehouse.SystemActor().Grants, true},
	} {
		if got := gatehouse.SeesDirectory(tt.grants); got != tt.want {
			t.Errorf("SeesDirectory(%v) = %v, want %v", tt.grants, got, tt.want)
		}
	}
}
