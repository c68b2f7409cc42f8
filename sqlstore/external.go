package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

var errNoExternalUser = gatehouse.Errorf(gatehouse.KindUnauthenticated,
	"no Gatehouse user for this single sign-on identity: ask an administrator to create one with your e-mail address")

var errExternalRefused = gatehouse.Errorf(gatehouse.KindUnauthenticated, "this user may not sign in: it is disabled or not a person")

// LoginExternal implements gatehouse.IdentityService. The lookup, a first-time link or a new
// user, group membership and the session commit together, each audited with the person as
// the actor; a refused sign-in is audited on its own.
func (s *IdentityService) LoginExternal(ctx context.Context, in gatehouse.ExternalLogin, ttl time.Duration) (*gatehouse.Session, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		sess, err := s.loginExternal(ctx, in, ttl)
		// A first sign-in of the same person in another tab may link or create the user, or
		// another person may take the name, first: the next attempt finds what that one made
		// (each round, one of the racing sign-ins wins).
		if !(isUniqueViolation(err) || gatehouse.KindOf(err) == gatehouse.KindConflict) || attempt == 10 {
			return sess, err
		}
	}
}

func (s *IdentityService) loginExternal(ctx context.Context, in gatehouse.ExternalLogin, ttl time.Duration) (*gatehouse.Session, error) {
	id := in.Identity
	var sess *gatehouse.Session
	var refused string
	err := s.db.write(ctx, func(tx *Tx) error {
		refused = ""
		u, err := tx.externalUser(in)
		if err != nil {
			return err
		}
		if u.Disabled || u.Kind != gatehouse.HumanUser {
			refused = u.Name
			return errExternalRefused
		}
		if in.SyncGroups && id.Groups != nil {
			if err := tx.syncGroups(u, id.Groups); err != nil {
				return err
			}
		}
		sess, err = tx.openSession(u, ttl, map[string]string{"method": "sso", "issuer": id.Issuer})
		return err
	})
	if refused != "" || errors.Is(err, errNoExternalUser) {
		resource := "user/" + refused
		if refused == "" {
			resource = "identity/" + id.Subject
		}
		_ = s.db.write(ctx, func(tx *Tx) error {
			return tx.audit(change{action: "auth.login_failed", resource: resource,
				details: map[string]string{"method": "sso", "issuer": id.Issuer, "email": id.Email}})
		})
	}
	return sess, err
}

// externalUser finds the user of an identity, linking or creating one as in allows, and makes
// that user the transaction's actor.
func (tx *Tx) externalUser(in gatehouse.ExternalLogin) (*gatehouse.User, error) {
	id := in.Identity
	u, err := scanUser(tx.QueryRowContext(tx.ctx, `SELECT `+userColumns+` FROM users
		WHERE id = (SELECT user_id FROM user_identities WHERE issuer = $1 AND subject = $2)`, id.Issuer, id.Subject))
	if err == nil {
		tx.actAs(u)
		return u, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read identity: %w", err)
	}
	if u, err = tx.userByVerifiedEmail(id); err != nil {
		return nil, err
	}
	how := "link"
	if u == nil {
		if !in.CreateUsers {
			return nil, errNoExternalUser
		}
		how = "create"
		if u, err = tx.createExternalUser(id); err != nil {
			return nil, err
		}
	}
	tx.actAs(u)
	if _, err := tx.ExecContext(tx.ctx, `INSERT INTO user_identities (issuer, subject, user_id, created_at) VALUES ($1, $2, $3, $4)`,
		id.Issuer, id.Subject, u.ID, micro(tx.now)); err != nil {
		return nil, fmt.Errorf("link identity: %w", err)
	}
	return u, tx.audit(change{action: "user.link_identity", resource: "user/" + u.Name,
		details: map[string]string{"issuer": id.Issuer, "subject": id.Subject, "email": id.Email, "how": how}})
}

// userByVerifiedEmail returns the one person whose e-mail is the identity's verified address
// and who has no identity of this issuer yet, or nil. An unverified address never matches:
// whoever controls the provider account could otherwise claim anyone's Gatehouse user.
func (tx *Tx) userByVerifiedEmail(id gatehouse.ExternalIdentity) (*gatehouse.User, error) {
	if !id.EmailVerified || id.Email == "" {
		return nil, nil
	}
	users, err := queryAll(tx.ctx, tx, scanUser, `SELECT `+userColumns+` FROM users WHERE LOWER(email) = $1 AND kind = $2
		AND id NOT IN (SELECT user_id FROM user_identities WHERE issuer = $3)`, strings.ToLower(id.Email), gatehouse.HumanUser, id.Issuer)
	if err != nil {
		return nil, fmt.Errorf("find user by e-mail: %w", err)
	}
	if len(users) != 1 {
		return nil, nil
	}
	return users[0], nil
}

// createExternalUser creates a person with no password (they sign in only through the
// provider) under the first free name the identity suggests.
func (tx *Tx) createExternalUser(id gatehouse.ExternalIdentity) (*gatehouse.User, error) {
	for _, name := range id.UserNameCandidates() {
		var taken int
		err := tx.QueryRowContext(tx.ctx, `SELECT 1 FROM users WHERE name = $1`, name).Scan(&taken)
		if errors.Is(err, sql.ErrNoRows) {
			tx.ctx = gatehouse.WithActor(tx.ctx, &gatehouse.Actor{UserName: name, Person: name, Kind: gatehouse.HumanUser, Via: gatehouse.AuthSession})
			return tx.insertUser(gatehouse.UserCreate{Name: name, DisplayName: id.DisplayName, Email: id.Email, Kind: gatehouse.HumanUser})
		} else if err != nil {
			return nil, fmt.Errorf("check user name: %w", err)
		}
	}
	return nil, gatehouse.Conflictf("no free user name for %s: ask an administrator to create the user", id.Email)
}

// actAs makes u the actor of the rest of the transaction.
func (tx *Tx) actAs(u *gatehouse.User) {
	tx.ctx = gatehouse.WithActor(tx.ctx, &gatehouse.Actor{UserID: u.ID, UserName: u.Name, Person: u.Name, Kind: u.Kind, Via: gatehouse.AuthSession})
}

// syncGroups makes u a member of exactly the existing groups named in want, auditing each
// change — but for a group whose membership would give u a vote under a policy: the
// provider's say does not replace the approval that takes (see accessKind); the skipped
// membership is audited as refused.
func (tx *Tx) syncGroups(u *gatehouse.User, want []string) error {
	type group struct {
		id     int64
		name   string
		member bool
	}
	groups, err := queryAll(tx.ctx, tx, func(row scanner) (group, error) {
		var g group
		return g, row.Scan(&g.id, &g.name, &g.member)
	}, `SELECT g.id, g.name, EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = g.id AND m.user_id = $1) FROM user_groups g ORDER BY g.name`, u.ID)
	if err != nil {
		return fmt.Errorf("read groups: %w", err)
	}
	for _, g := range groups {
		stmt, action := `INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)`, "group.add_member"
		if slices.Contains(want, g.name) == g.member {
			continue
		} else if g.member {
			stmt, action = `DELETE FROM group_members WHERE group_id = $1 AND user_id = $2`, "group.remove_member"
		} else if gated, err := tx.joinIsJudged(g.name, u.Name); err != nil {
			return err
		} else if gated {
			if err := tx.audit(change{action: "group.add_member_refused", resource: "group/" + g.name, details: map[string]string{"user": u.Name, "via": "sso",
				"reason": "membership gives a vote under a policy: it takes an access draft that the policy judges"}}); err != nil {
				return err
			}
			continue
		}
		if _, err := tx.ExecContext(tx.ctx, stmt, g.id, u.ID); err != nil {
			return fmt.Errorf("%s: %w", action, err)
		}
		if err := tx.audit(change{action: action, resource: "group/" + g.name, details: map[string]string{"user": u.Name, "via": "sso"}}); err != nil {
			return err
		}
	}
	return nil
}

// joinIsJudged reports whether making user a member of group is a change a policy judges.
func (tx *Tx) joinIsJudged(group, user string) (bool, error) {
	sub, err := systemSubject(tx.ctx, tx, gatehouse.DraftRef{Kind: gatehouse.DraftAccess, Group: group})
	if err != nil {
		return false, err
	}
	before, err := readAccess(tx.ctx, tx, sub.principal)
	if err != nil {
		return false, err
	}
	after := before
	after.Members = append(slices.Clone(before.Members), user)
	judges, err := accessKind{}.judges(tx.ctx, tx.db, tx, sub, renderSetting(before), renderSetting(after), nil)
	return len(judges) > 0, err
}
