package sqlstore_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// TestDirectoryVisibility: who sees which users and groups. Administrators and access managers
// (on any scope) see everyone with e-mail; others see the people and groups bound where they
// are bound, without e-mail; a role-less person from single sign-on and a service account
// bound nowhere see only themselves. The expectations are written out by hand from that rule.
func TestDirectoryVisibility(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		f.world() // project shop
		for _, p := range []string{"other", "empty"} {
			_, err := f.projects.CreateProject(f.admin, gatehouse.ProjectCreate{Name: p})
			f.must(err)
		}
		ctx := map[string]context.Context{"admin": f.admin}
		for _, p := range []struct{ name, binding string }{
			{"alice", "image-approver@project:shop/env:prod"}, {"bob", "viewer@project:other"}, {"carol", ""},
			{"dave", "viewer@*"}, {"erin", "deployer@project:*/env:dev"}, {"mgr", "access-manager@project:other"},
		} {
			_, err := f.users.CreateUser(f.admin, gatehouse.UserCreate{Name: p.name, Email: p.name + "@example.com", Password: gatehouse.NewSecret(password)})
			f.must(err)
			if p.binding != "" {
				f.bind(p.name, p.binding)
			}
		}
		for _, g := range []struct{ name, member, role, scope string }{
			{"sre", "carol", "deployer", "project:shop/app:web"}, {"ops", "bob", "viewer", "project:other"}, {"lonely", "carol", "", ""},
		} {
			_, err := f.groups.CreateGroup(f.admin, gatehouse.GroupCreate{Name: g.name, Members: []string{g.member}})
			f.must(err)
			if g.role != "" {
				_, err = f.bindings.CreateRoleBinding(f.admin, gatehouse.RoleBindingCreate{Group: g.name, Role: gatehouse.Role(g.role), Scope: g.scope})
				f.must(err)
			}
		}
		for _, n := range []string{"alice", "bob", "carol", "dave", "erin", "mgr"} {
			ctx[n] = f.login(n)
		}
		ctx["ci"] = f.serviceAccount("ci", "deployer@project:shop")
		ctx["bare"] = f.serviceAccount("bare")
		sess, err := f.identity.LoginExternal(context.Background(), gatehouse.ExternalLogin{CreateUsers: true, Identity: gatehouse.ExternalIdentity{
			Issuer: "https://id.example", Subject: "p-1", Username: "pat", Email: "pat@example.com", EmailVerified: true}}, time.Hour)
		f.must(err)
		a, _, err := f.identity.AuthenticateSession(context.Background(), sess.Token)
		f.must(err)
		ctx["pat"] = gatehouse.WithActor(context.Background(), a)

		noMail := []string{"admin", "bare", "ci"}
		everyone := "admin alice bare bob carol ci dave erin mgr pat"
		inShop := "admin alice carol ci dave erin"
		inAll := "admin alice bob carol ci dave erin mgr"
		for _, c := range []struct {
			viewer, users string
			emails        bool   // others' e-mails shown
			groups        string // group:members,…
		}{
			{"admin", everyone, true, "lonely:carol ops:bob sre:carol"},
			{"mgr", everyone, true, "lonely:carol ops:bob sre:carol"},
			{"alice", inShop, false, "sre:carol"},
			{"carol", inShop, false, "lonely:carol sre:carol"},
			{"ci", inShop, false, "sre:carol"},
			{"bob", "admin bob dave erin mgr", false, "ops:bob"},
			{"dave", inAll, false, "ops:bob sre:carol"},
			{"erin", inAll, false, "ops:bob sre:carol"},
			{"bare", "bare", false, ""},
			{"pat", "pat", false, ""},
		} {
			users, err := f.users.Users(ctx[c.viewer])
			f.must(err)
			var names []string
			for _, u := range users {
				names = append(names, u.Name)
				if want := (c.emails || u.Name == c.viewer) && !slices.Contains(noMail, u.Name); (u.Email != "") != want {
					t.Errorf("%s sees %s with e-mail %q", c.viewer, u.Name, u.Email)
				}
			}
			if got := strings.Join(names, " "); got != c.users {
				t.Errorf("%s sees users %q, want %q", c.viewer, got, c.users)
			}
			groups, err := f.groups.Groups(ctx[c.viewer])
			f.must(err)
			var gs []string
			for _, g := range groups {
				gs = append(gs, g.Name+":"+strings.Join(g.Members, ","))
			}
			if got := strings.Join(gs, " "); got != c.groups {
				t.Errorf("%s sees groups %q, want %q", c.viewer, got, c.groups)
			}
			// One by one: those listed are found (e-mail masked alike), the others are not found.
			for _, n := range strings.Fields(everyone) {
				u, err := f.users.User(ctx[c.viewer], n)
				switch listed := slices.Contains(names, n); {
				case listed && err != nil:
					t.Errorf("%s lists %s but reading it fails: %v", c.viewer, n, err)
				case listed && u.Email != "" && !c.emails && n != c.viewer:
					t.Errorf("%s reads %s's e-mail %q", c.viewer, n, u.Email)
				case !listed:
					wantErr(t, err, gatehouse.KindNotFound, `user "`+n+`" not found`)
				}
			}
			for _, g := range []string{"lonely", "ops", "sre"} {
				_, err := f.groups.Group(ctx[c.viewer], g)
				if listed := strings.Contains(" "+c.groups, " "+g+":"); listed != (err == nil) {
					t.Errorf("%s reads group %s: %v, listed %v", c.viewer, g, err, listed)
				}
			}
		}
		// A person always reads themselves whole, as GET /api/v1/me does.
		me, err := f.users.User(ctx["carol"], "carol")
		f.must(err)
		if me.Email != "carol@example.com" || strings.Join(me.Groups, ",") != "lonely,sre" {
			t.Errorf("carol reads herself as %+v", me)
		}
		// Of a person they see, others see only the groups they see too.
		if c, err := f.users.User(ctx["alice"], "carol"); err != nil || strings.Join(c.Groups, ",") != "sre" || c.Email != "" {
			t.Errorf("alice reads carol as %+v (%v)", c, err)
		}
	})
}
