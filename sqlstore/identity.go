package sqlstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// Token texts carry a prefix that says what they are (see gatehouse.SecretPrefixes).
const (
	tokenPrefix   = gatehouse.TokenPrefix
	sessionPrefix = gatehouse.SessionPrefix
)

// IdentityService implements gatehouse.IdentityService. Session and token texts are random
// (256 bits) and stored only as SHA-256 hashes.
type IdentityService struct{ db *DB }

// NewIdentityService returns the identity service of db.
func NewIdentityService(db *DB) *IdentityService { return &IdentityService{db: db} }

func randomText(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("no randomness: " + err.Error())
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

func hashText(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

var errBadLogin = gatehouse.Errorf(gatehouse.KindUnauthenticated, "invalid user name or password")

// checkLogin returns the human user whose password matches, or errBadLogin, and the password
// hash it verified (see Tx.passwordStands).
func (s *IdentityService) checkLogin(ctx context.Context, c gatehouse.Credentials) (*gatehouse.User, string, error) {
	var hash sql.NullString
	u, err := scanUser(s.db.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE name = $1`, c.Name))
	if err == nil {
		err = s.db.r.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = $1`, u.ID).Scan(&hash)
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, "", fmt.Errorf("login: %w", err)
	}
	if !hash.Valid {
		checkPassword(dummyHash, c.Password.Reveal())
		return nil, "", errBadLogin
	}
	if !checkPassword(hash.String, c.Password.Reveal()) || u.Disabled || u.Kind != gatehouse.HumanUser {
		_ = s.db.write(ctx, func(tx *Tx) error {
			return tx.audit(change{action: "auth.login_failed", resource: "user/" + u.Name})
		})
		return nil, "", errBadLogin
	}
	return u, hash.String, nil
}

// passwordStands refuses a sign-in whose password check raced a change of the user: the hash it
// verified (outside the transaction, as hashing is slow) must still be the user's, and the
// user still enabled, read under the row's lock. Without it a sign-in with the old password
// that began before a password change or a disable could leave a session or token that the
// change never saw, and that would work again once the user is enabled.
func (tx *Tx) passwordStands(userID int64, verified string) error {
	var hash string
	var disabled bool
	if err := tx.QueryRowContext(tx.ctx, `SELECT COALESCE(password_hash, ''), disabled FROM users WHERE id = $1`+tx.db.dialect.forUpdate,
		userID).Scan(&hash, &disabled); err != nil {
		return fmt.Errorf("read password: %w", err)
	}
	if hash != verified || disabled {
		return errBadLogin
	}
	return nil
}

// Login implements gatehouse.IdentityService.
func (s *IdentityService) Login(ctx context.Context, c gatehouse.Credentials, ttl time.Duration) (*gatehouse.Session, error) {
	u, hash, err := s.checkLogin(ctx, c)
	if err != nil {
		return nil, err
	}
	var sess *gatehouse.Session
	err = s.db.write(gatehouse.WithActor(ctx, &gatehouse.Actor{UserID: u.ID, UserName: u.Name, Person: u.Name, Kind: u.Kind, Via: gatehouse.AuthSession}), func(tx *Tx) error {
		if err := tx.passwordStands(u.ID, hash); err != nil {
			return err
		}
		sess, err = tx.openSession(u, ttl, map[string]string{"method": "session"})
		return err
	})
	return sess, err
}

// openSession starts a session of u and audits the sign-in with details.
func (tx *Tx) openSession(u *gatehouse.User, ttl time.Duration, details map[string]string) (*gatehouse.Session, error) {
	sess := &gatehouse.Session{Token: gatehouse.NewSecret(randomText(sessionPrefix)), CSRF: randomText(""), User: u.Name,
		ExpiresAt: tx.now.Add(ttl)}
	if _, err := tx.ExecContext(tx.ctx, `INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, hashText(sess.Token.Reveal()), u.ID, sess.CSRF, micro(tx.now), micro(sess.ExpiresAt)); err != nil {
		return nil, fmt.Errorf("insert session: %w", err)
	}
	return sess, tx.audit(change{action: "auth.login", resource: "user/" + u.Name, details: details})
}

// LoginToken implements gatehouse.IdentityService.
func (s *IdentityService) LoginToken(ctx context.Context, c gatehouse.Credentials, in gatehouse.TokenCreate) (*gatehouse.NewToken, error) {
	u, hash, err := s.checkLogin(ctx, c)
	if err != nil {
		return nil, err
	}
	ttl, err := in.Validate()
	if err != nil {
		return nil, err
	}
	ctx = gatehouse.WithActor(ctx, &gatehouse.Actor{UserID: u.ID, UserName: u.Name, Person: u.Name, Kind: u.Kind, Via: gatehouse.AuthSession})
	var t *gatehouse.NewToken
	err = s.db.write(ctx, func(tx *Tx) error {
		if err := tx.passwordStands(u.ID, hash); err != nil {
			return err
		}
		t, err = tx.insertToken(u, in.Name, ttl, true)
		return err
	})
	return t, err
}

// Logout implements gatehouse.IdentityService.
func (s *IdentityService) Logout(ctx context.Context, token gatehouse.Secret) error {
	return s.db.write(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = $1`, hashText(token.Reveal()))
		if err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		a := gatehouse.ActorFrom(ctx)
		if a == nil {
			return nil
		}
		return tx.audit(change{action: "auth.logout", resource: "user/" + a.UserName})
	})
}

var errBadSession = gatehouse.Errorf(gatehouse.KindUnauthenticated, "session expired or invalid: sign in again")

// AuthenticateSession implements gatehouse.IdentityService.
func (s *IdentityService) AuthenticateSession(ctx context.Context, token gatehouse.Secret) (*gatehouse.Actor, *gatehouse.Session, error) {
	if !strings.HasPrefix(token.Reveal(), sessionPrefix) {
		return nil, nil, errBadSession
	}
	var uid, expires int64
	sess := &gatehouse.Session{Token: token}
	err := s.db.r.QueryRowContext(ctx, `SELECT user_id, csrf_token, expires_at FROM sessions WHERE token_hash = $1`,
		hashText(token.Reveal())).Scan(&uid, &sess.CSRF, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, errBadSession
	} else if err != nil {
		return nil, nil, fmt.Errorf("read session: %w", err)
	}
	sess.ExpiresAt = fromMicro(expires)
	if !s.db.now().Before(sess.ExpiresAt) {
		return nil, nil, errBadSession
	}
	a, err := s.activeActor(ctx, uid, gatehouse.AuthSession, 0)
	if err != nil {
		return nil, nil, err
	}
	a.Interactive = true
	sess.User = a.UserName
	return a, sess, nil
}

// activeActor loads the actor of an enabled user, or fails as unauthenticated.
func (s *IdentityService) activeActor(ctx context.Context, uid int64, via gatehouse.AuthMethod, tokenID int64) (*gatehouse.Actor, error) {
	u, err := scanUser(s.db.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, uid))
	if err != nil {
		return nil, fmt.Errorf("read user: %w", err)
	}
	if u.Disabled {
		return nil, gatehouse.Errorf(gatehouse.KindUnauthenticated, "user %s is disabled", u.Name)
	}
	return loadActor(ctx, s.db.r, u, via, tokenID)
}

var errBadToken = gatehouse.Errorf(gatehouse.KindUnauthenticated, "API token invalid, expired or revoked")

// AuthenticateToken implements gatehouse.IdentityService. It records when a token was last
// used, at most once a minute, so reads do not turn into writes.
func (s *IdentityService) AuthenticateToken(ctx context.Context, token gatehouse.Secret) (*gatehouse.Actor, error) {
	if !strings.HasPrefix(token.Reveal(), tokenPrefix) {
		return nil, errBadToken
	}
	var id, uid, expires int64
	var revoked, used sql.NullInt64
	var interactive bool
	var maker sql.NullString
	err := s.db.r.QueryRowContext(ctx, `SELECT t.id, t.user_id, t.expires_at, t.revoked_at, t.last_used_at, t.interactive, m.name
		FROM api_tokens t LEFT JOIN users m ON m.id = t.made_by AND m.kind = 'human' WHERE t.token_hash = $1`,
		hashText(token.Reveal())).Scan(&id, &uid, &expires, &revoked, &used, &interactive, &maker)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errBadToken
	} else if err != nil {
		return nil, fmt.Errorf("read token: %w", err)
	}
	now := s.db.now()
	if revoked.Valid || !now.Before(fromMicro(expires)) {
		return nil, errBadToken
	}
	a, err := s.activeActor(ctx, uid, gatehouse.AuthToken, id)
	if err != nil {
		return nil, err
	}
	a.Interactive = interactive && a.Kind == gatehouse.HumanUser
	// Whatever is done through a token is done by the person who made it: a person's own
	// token is theirs; a service account's is its maker's.
	a.Person = maker.String
	if a.Kind == gatehouse.HumanUser {
		a.Person = a.UserName
	}
	if !used.Valid || now.Sub(fromMicro(used.Int64)) > time.Minute {
		if _, err := s.db.w.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = $1 WHERE id = $2`, micro(now), id); err != nil {
			s.db.log.Warn("record token use", "token_id", id, "err", err)
		}
	}
	return a, nil
}

// insertToken creates a token for u and audits it (never the token text). An interactive token
// is one a person got by signing in with their password.
func (tx *Tx) insertToken(u *gatehouse.User, name string, ttl time.Duration, interactive bool) (*gatehouse.NewToken, error) {
	secret := randomText(tokenPrefix)
	t := &gatehouse.NewToken{Secret: secret}
	t.Name, t.User, t.Prefix, t.Interactive = name, u.Name, secret[:len(tokenPrefix)+6], interactive
	t.CreatedAt, t.ExpiresAt = tx.now, tx.now.Add(ttl)
	maker := gatehouse.ActorFrom(tx.ctx)
	t.MadeBy = maker.UserName
	if err := tx.QueryRowContext(tx.ctx, `INSERT INTO api_tokens (user_id, name, prefix, token_hash, created_at, expires_at, interactive, made_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, u.ID, name, t.Prefix, hashText(secret), micro(tx.now), micro(t.ExpiresAt),
		interactive, maker.UserID).Scan(&t.ID); err != nil {
		return nil, fmt.Errorf("insert token: %w", err)
	}
	return t, tx.audit(change{action: "token.create", resource: fmt.Sprintf("token/%d", t.ID), after: &t.Token})
}

// CreateToken implements gatehouse.IdentityService.
func (s *IdentityService) CreateToken(ctx context.Context, user string, in gatehouse.TokenCreate) (*gatehouse.NewToken, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	ttl, err := in.Validate()
	if err != nil {
		return nil, err
	}
	if user == "" || user == a.UserName {
		if a.Kind != gatehouse.HumanUser {
			return nil, gatehouse.Forbiddenf("%s may not create tokens for itself: a super-admin creates service-account tokens", a.UserName)
		}
		user = a.UserName
	} else if err := a.Require(gatehouse.ActionAdminister, gatehouse.Target{}); err != nil {
		return nil, err
	}
	u, err := findUser(ctx, s.db.r, user)
	if err != nil {
		return nil, err
	}
	if u.Name != a.UserName && u.Kind != gatehouse.ServiceAccount {
		return nil, gatehouse.Forbiddenf("tokens are created by their owner: %s is a person and creates its own", u.Name)
	}
	var t *gatehouse.NewToken
	err = s.db.write(ctx, func(tx *Tx) error {
		t, err = tx.insertToken(u, in.Name, ttl, false)
		return err
	})
	return t, err
}

const tokenSelect = `SELECT t.id, t.name, u.name, t.prefix, t.expires_at, t.last_used_at, t.created_at, t.revoked_at,
	t.revoked_reason, t.interactive, COALESCE(m.name, '')
	FROM api_tokens t JOIN users u ON u.id = t.user_id LEFT JOIN users m ON m.id = t.made_by`

func scanToken(row scanner) (*gatehouse.Token, error) {
	var t gatehouse.Token
	var expires, created int64
	var used, revoked sql.NullInt64
	if err := row.Scan(&t.ID, &t.Name, &t.User, &t.Prefix, &expires, &used, &created, &revoked, &t.RevokedReason, &t.Interactive, &t.MadeBy); err != nil {
		return nil, err
	}
	t.ExpiresAt, t.CreatedAt, t.LastUsedAt, t.RevokedAt = fromMicro(expires), fromMicro(created), fromNullMicro(used), fromNullMicro(revoked)
	return &t, nil
}

// Tokens implements gatehouse.IdentityService.
func (s *IdentityService) Tokens(ctx context.Context, user string) ([]*gatehouse.Token, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if user == "" {
		user = a.UserName
	} else if user != a.UserName {
		if err := a.Require(gatehouse.ActionAdminister, gatehouse.Target{}); err != nil {
			return nil, err
		}
	}
	out, err := queryAll(ctx, s.db.r, scanToken, tokenSelect+` WHERE u.name = $1 ORDER BY t.id`, user)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// RevokeToken implements gatehouse.IdentityService.
func (s *IdentityService) RevokeToken(ctx context.Context, id int64) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	return s.db.write(ctx, func(tx *Tx) error {
		t, err := scanToken(tx.QueryRowContext(ctx, tokenSelect+` WHERE t.id = $1`, id))
		if err != nil {
			return notFoundOr(err, "token %d not found", id)
		}
		if t.User != a.UserName && !a.Can(gatehouse.ActionAdminister, gatehouse.Target{}) {
			return gatehouse.NotFoundf("token %d not found", id)
		}
		if t.RevokedAt != nil {
			return nil
		}
		return tx.revokeToken(t, "revoked by "+a.UserName)
	})
}
