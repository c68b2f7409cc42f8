package sqlstore

import (
	"fmt"

	"github.com/gatehousehq/gatehouse"
)

// Reasons recorded on tokens that a change of their owner revoked (Token.RevokedReason).
const (
	reasonPasswordChanged = "password changed"
	reasonPasswordReset   = "password reset by %s"
	reasonUserDisabled    = "user disabled by %s"
)

// revokeToken marks t revoked for reason and audits it (token.revoke, the reason in details),
// in the transaction.
func (tx *Tx) revokeToken(t *gatehouse.Token, reason string) error {
	if _, err := tx.ExecContext(tx.ctx, `UPDATE api_tokens SET revoked_at = $1, revoked_reason = $2 WHERE id = $3`,
		micro(tx.now), reason, t.ID); err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	after := *t
	after.RevokedAt, after.RevokedReason = &tx.now, reason
	return tx.audit(change{action: "token.revoke", resource: fmt.Sprintf("token/%d", t.ID), before: t, after: &after,
		details: map[string]string{"reason": reason}})
}

// endSignIns ends everything that proves a person signed in with their password: every session
// and every interactive token (made by `gatehouse login`, which can approve), each revocation
// audited with the reason. It runs in the transaction that changes the password (or disables
// the user), so no moment exists where the new password is set and an old proof still works.
// Personal API tokens and service-account tokens stay: they never approve, their owner made
// them on purpose for a script, and a password change is not a statement about them.
func (tx *Tx) endSignIns(userID int64, reason string) error {
	if _, err := tx.ExecContext(tx.ctx, `DELETE FROM sessions WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	toks, err := queryAll(tx.ctx, tx, scanToken, tokenSelect+` WHERE t.user_id = $1 AND t.interactive = TRUE AND t.revoked_at IS NULL
		ORDER BY t.id`+tx.db.dialect.forUpdateOf("t"), userID)
	if err != nil {
		return fmt.Errorf("interactive tokens: %w", err)
	}
	for _, t := range toks {
		if err := tx.revokeToken(t, reason); err != nil {
			return err
		}
	}
	return nil
}
