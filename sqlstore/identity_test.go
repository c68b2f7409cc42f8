package sqlstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

func TestLogin(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		f.person("alice")
		ctx := context.Background()
		login := func(name, pw string) error {
			_, err := f.identity.Login(ctx, gatehouse.Credentials{Name: name, Password: gatehouse.NewSecret(pw)}, time.Hour)
			return err
		}
		wrong := login("alice", "wrong password!!")
		unknown := login("nobody", password)
		wantErr(t, wrong, gatehouse.KindUnauthenticated)
		if unknown == nil || wrong.Error() != unknown.Error() {
			t.Fatalf("wrong password %q and unknown user %q must read the same", wrong, unknown)
		}
		disabled := true
		_, err := f.users.UpdateUser(f.admin, "alice", gatehouse.UserUpdate{Disabled: &disabled})
		f.must(err)
		if err := login("alice", password); err == nil || err.Error() != unknown.Error() {
			t.Fatalf("disabled login = %v", err)
		}
		_, err = f.users.CreateUser(f.admin, gatehouse.UserCreate{Name: "robot", Kind: gatehouse.ServiceAccount, Password: gatehouse.NewSecret(password)})
		wantErr(t, err, gatehouse.KindInvalid, "password:", "service accounts have no password")
		_, err = f.users.CreateUser(f.admin, gatehouse.UserCreate{Name: "bob", Password: gatehouse.NewSecret("short")})
		wantErr(t, err, gatehouse.KindInvalid, "password:", "12 to 256")
		if n := f.countRows(`SELECT COUNT(*) FROM users WHERE password_hash LIKE '%` + password + `%'`); n != 0 {
			t.Fatal("password stored in clear")
		}
		if n := f.countRows(`SELECT COUNT(*) FROM audit_events WHERE action = 'auth.login_failed' AND resource = 'user/alice'`); n != 2 {
			t.Fatalf("failed logins audited %d times, want 2", n)
		}
	})
}

func TestSessionsExpireAndEnd(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		f.person("alice", "viewer@project:*")
		ctx := context.Background()
		sess, err := f.identity.Login(ctx, gatehouse.Credentials{Name: "alice", Password: gatehouse.NewSecret(password)}, time.Hour)
		f.must(err)
		if !strings.HasPrefix(sess.Token.Reveal(), "ghs_") || len(sess.CSRF) < 40 {
			t.Fatalf("session = %q csrf %q", sess.Token.Reveal()[:4], sess.CSRF)
		}
		if n := f.countRows(`SELECT COUNT(*) FROM sessions WHERE token_hash = $1`, sess.Token.Reveal()); n != 0 {
			t.Fatal("session token stored in clear")
		}
		a, got, err := f.identity.AuthenticateSession(ctx, sess.Token)
		f.must(err)
		if a.UserName != "alice" || a.Via != gatehouse.AuthSession || got.CSRF != sess.CSRF || len(a.Grants) != 1 {
			t.Fatalf("actor = %+v", a)
		}
		f.clock.Advance(time.Hour)
		_, _, err = f.identity.AuthenticateSession(ctx, sess.Token)
		wantErr(t, err, gatehouse.KindUnauthenticated, "sign in again")

		sess, err = f.identity.Login(ctx, gatehouse.Credentials{Name: "alice", Password: gatehouse.NewSecret(password)}, time.Hour)
		f.must(err)
		f.must(f.identity.Logout(ctx, sess.Token))
		_, _, err = f.identity.AuthenticateSession(ctx, sess.Token)
		wantErr(t, err, gatehouse.KindUnauthenticated)

		// Changing the password ends every session and checks the current one.
		sess, err = f.identity.Login(ctx, gatehouse.Credentials{Name: "alice", Password: gatehouse.NewSecret(password)}, time.Hour)
		f.must(err)
		a, _, err = f.identity.AuthenticateSession(ctx, sess.Token)
		f.must(err)
		alice := gatehouse.WithActor(ctx, a)
		err = f.users.ChangePassword(alice, gatehouse.PasswordChange{Current: gatehouse.NewSecret("not my password"), New: gatehouse.NewSecret("a brand new passphrase")})
		wantErr(t, err, gatehouse.KindUnauthenticated, "current_password")
		f.must(f.users.ChangePassword(alice, gatehouse.PasswordChange{Current: gatehouse.NewSecret(password), New: gatehouse.NewSecret("a brand new passphrase")}))
		_, _, err = f.identity.AuthenticateSession(ctx, sess.Token)
		wantErr(t, err, gatehouse.KindUnauthenticated)
		_, err = f.identity.Login(ctx, gatehouse.Credentials{Name: "alice", Password: gatehouse.NewSecret("a brand new passphrase")}, time.Hour)
		f.must(err)
	})
}

func TestTokens(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		alice := f.person("alice", "deployer@project:shop")
		f.person("bob")
		tok, err := f.identity.CreateToken(alice, "", gatehouse.TokenCreate{Name: "laptop", ExpiresIn: "48h"})
		f.must(err)
		if !strings.HasPrefix(tok.Secret, "gth_") || !strings.HasPrefix(tok.Secret, tok.Prefix) || tok.ExpiresAt.Sub(tok.CreatedAt) != 48*time.Hour {
			t.Fatalf("token = %+v", tok.Token)
		}
		ctx := context.Background()
		a, err := f.identity.AuthenticateToken(ctx, gatehouse.NewSecret(tok.Secret))
		f.must(err)
		if a.UserName != "alice" || a.Via != gatehouse.AuthToken || a.TokenID != tok.ID {
			t.Fatalf("actor = %+v", a)
		}
		list, err := f.identity.Tokens(alice, "")
		f.must(err)
		if len(list) != 1 || list[0].LastUsedAt == nil {
			t.Fatalf("tokens = %+v", list)
		}
		// Nobody else's tokens: creating one for a person, listing or revoking another's.
		_, err = f.identity.CreateToken(alice, "bob", gatehouse.TokenCreate{Name: "x"})
		wantErr(t, err, gatehouse.KindForbidden)
		_, err = f.identity.CreateToken(f.admin, "bob", gatehouse.TokenCreate{Name: "x"})
		wantErr(t, err, gatehouse.KindForbidden, "bob is a person")
		bob := f.login("bob")
		wantErr(t, f.identity.RevokeToken(bob, tok.ID), gatehouse.KindNotFound)
		_, err = f.identity.CreateToken(alice, "", gatehouse.TokenCreate{Name: "x", ExpiresIn: "9000h"})
		wantErr(t, err, gatehouse.KindInvalid, "expires_in")

		f.clock.Advance(48 * time.Hour)
		_, err = f.identity.AuthenticateToken(ctx, gatehouse.NewSecret(tok.Secret))
		wantErr(t, err, gatehouse.KindUnauthenticated)

		tok2, err := f.identity.CreateToken(alice, "", gatehouse.TokenCreate{Name: "ci"})
		f.must(err)
		f.must(f.identity.RevokeToken(alice, tok2.ID))
		_, err = f.identity.AuthenticateToken(ctx, gatehouse.NewSecret(tok2.Secret))
		wantErr(t, err, gatehouse.KindUnauthenticated)
		_, err = f.identity.AuthenticateToken(ctx, gatehouse.NewSecret("gth_forged"))
		wantErr(t, err, gatehouse.KindUnauthenticated)

		// A disabled user's tokens stop working at once.
		tok3, err := f.identity.CreateToken(alice, "", gatehouse.TokenCreate{Name: "ci"})
		f.must(err)
		off := true
		_, err = f.users.UpdateUser(f.admin, "alice", gatehouse.UserUpdate{Disabled: &off})
		f.must(err)
		_, err = f.identity.AuthenticateToken(ctx, gatehouse.NewSecret(tok3.Secret))
		wantErr(t, err, gatehouse.KindUnauthenticated, "disabled")
		// Logging in for a CLI token checks the password like a session.
		_, err = f.identity.LoginToken(ctx, gatehouse.Credentials{Name: "bob", Password: gatehouse.NewSecret("bad password!")}, gatehouse.TokenCreate{Name: "cli"})
		wantErr(t, err, gatehouse.KindUnauthenticated)
		cli, err := f.identity.LoginToken(ctx, gatehouse.Credentials{Name: "bob", Password: gatehouse.NewSecret(password)}, gatehouse.TokenCreate{Name: "cli"})
		f.must(err)
		if cli.User != "bob" {
			t.Fatalf("cli token for %s", cli.User)
		}
		if n := f.countRows(`SELECT COUNT(*) FROM audit_events WHERE COALESCE(after_json, '') LIKE '%` + cli.Secret + `%'`); n != 0 {
			t.Fatal("token text in the audit trail")
		}
	})
}

func TestGroupsGiveGrants(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		f.world()
		f.person("sam")
		_, err := f.groups.CreateGroup(f.admin, gatehouse.GroupCreate{Name: "sre", Members: []string{"sam", "ghost"}})
		wantErr(t, err, gatehouse.KindInvalid, "members", `"ghost" does not exist`)
		if _, err := f.groups.Group(f.admin, "sre"); gatehouse.KindOf(err) != gatehouse.KindNotFound {
			t.Fatal("a refused group was half-written")
		}
		_, err = f.groups.CreateGroup(f.admin, gatehouse.GroupCreate{Name: "sre", Members: []string{"sam"}})
		f.must(err)
		_, err = f.bindings.CreateRoleBinding(f.admin, gatehouse.RoleBindingCreate{Group: "sre", Role: gatehouse.RoleAdmin, Scope: "project:shop"})
		f.must(err)
		sam := f.login("sam")
		desc := "by sre"
		_, err = f.apps.UpdateApp(sam, "shop", "web", gatehouse.AppUpdate{Description: &desc})
		f.must(err)
		_, err = f.groups.RemoveGroupMember(f.admin, "sre", "sam")
		f.must(err)
		sam = f.login("sam")
		_, err = f.apps.UpdateApp(sam, "shop", "web", gatehouse.AppUpdate{Description: &desc})
		wantErr(t, err, gatehouse.KindNotFound) // no longer sees the app at all
		_, err = f.groups.RemoveGroupMember(f.admin, "sre", "sam")
		wantErr(t, err, gatehouse.KindNotFound, "not a member")
		g, err := f.groups.AddGroupMember(f.admin, "sre", "sam")
		f.must(err)
		if len(g.Members) != 1 {
			t.Fatalf("members = %v", g.Members)
		}
		f.must(f.groups.DeleteGroup(f.admin, "sre"))
		if n := f.countRows(`SELECT COUNT(*) FROM role_bindings WHERE subject_kind = 'group'`); n != 0 {
			t.Fatalf("%d bindings of a deleted group remain", n)
		}
	})
}
