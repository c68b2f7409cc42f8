package sqlstore_test

import (
	"context"
	"fmt"
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

// TestPasswordChangeRevokesLoginTokens: a password change, an administrator's reset and a
// disable each revoke the person's `gatehouse login` tokens (which can approve) in the same
// transaction, audited with the reason that the token list shows; personal API tokens stay.
func TestPasswordChangeRevokesLoginTokens(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		alice := f.person("alice", "image-approver@project:shop")
		ctx := context.Background()
		loginToken := func(pw string) *gatehouse.NewToken {
			t.Helper()
			tok, err := f.identity.LoginToken(ctx, gatehouse.Credentials{Name: "alice", Password: gatehouse.NewSecret(pw)}, gatehouse.TokenCreate{Name: "cli"})
			f.must(err)
			return tok
		}
		works := func(tok *gatehouse.NewToken, want bool) {
			t.Helper()
			a, err := f.identity.AuthenticateToken(ctx, gatehouse.NewSecret(tok.Secret))
			if (err == nil) != want {
				t.Fatalf("token %d works = %v (%v), want %v", tok.ID, err == nil, err, want)
			}
			if err == nil && a.Interactive != tok.Interactive {
				t.Fatalf("token %d interactive = %v, want %v", tok.ID, a.Interactive, tok.Interactive)
			}
		}
		reason := func(tok *gatehouse.NewToken) string {
			t.Helper()
			list, err := f.identity.Tokens(f.admin, "alice")
			f.must(err)
			for _, l := range list {
				if l.ID == tok.ID {
					if (l.RevokedAt == nil) != (l.RevokedReason == "") {
						t.Fatalf("token %d revoked at %v for %q", l.ID, l.RevokedAt, l.RevokedReason)
					}
					return l.RevokedReason
				}
			}
			t.Fatalf("token %d not listed", tok.ID)
			return ""
		}
		audited := func(tok *gatehouse.NewToken, why string) int {
			return f.countRows(`SELECT COUNT(*) FROM audit_events WHERE action = 'token.revoke' AND resource = $1 AND details LIKE $2`,
				fmt.Sprintf("token/%d", tok.ID), "%"+why+"%")
		}

		cli := loginToken(password)
		api, err := f.identity.CreateToken(alice, "", gatehouse.TokenCreate{Name: "script"})
		f.must(err)
		if !cli.Interactive || api.Interactive {
			t.Fatalf("interactive: login token %v, API token %v", cli.Interactive, api.Interactive)
		}
		f.must(f.users.ChangePassword(alice, gatehouse.PasswordChange{Current: gatehouse.NewSecret(password), New: gatehouse.NewSecret("a brand new passphrase")}))
		works(cli, false)
		works(api, true)
		if got := reason(cli); got != "password changed" || reason(api) != "" {
			t.Fatalf("after a password change: login token %q, API token %q", got, reason(api))
		}
		if n := audited(cli, "password changed"); n != 1 {
			t.Fatalf("%d token.revoke events for the login token, want 1", n)
		}

		// An administrator's reset, and a disable, revoke them likewise; enabling again does not
		// bring a revoked token back.
		cli = loginToken("a brand new passphrase")
		_, err = f.users.UpdateUser(f.admin, "alice", gatehouse.UserUpdate{Password: ptr(gatehouse.NewSecret(password))})
		f.must(err)
		works(cli, false)
		if got := reason(cli); got != "password reset by admin" || audited(cli, "password reset by admin") != 1 {
			t.Fatalf("after a reset: %q", got)
		}
		cli = loginToken(password)
		_, err = f.users.UpdateUser(f.admin, "alice", gatehouse.UserUpdate{Disabled: ptr(true)})
		f.must(err)
		_, err = f.users.UpdateUser(f.admin, "alice", gatehouse.UserUpdate{Disabled: ptr(false)})
		f.must(err)
		works(cli, false)
		works(api, true)
		if got := reason(cli); got != "user disabled by admin" || audited(cli, "user disabled by admin") != 1 {
			t.Fatalf("after a disable: %q", got)
		}
		if n := f.countRows(`SELECT COUNT(*) FROM audit_events WHERE action = 'token.revoke'`); n != 3 {
			t.Fatalf("%d token.revoke events, want 3 (one per revoked login token)", n)
		}
	})
}

func ptr[T any](v T) *T { return &v }
