package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// linkKind is one kind of single-use approve link: its token prefix, its table and the
// column naming what it approves.
type linkKind struct{ prefix, table, subject string }

var (
	approvalLinks = linkKind{prefix: gatehouse.ApprovalLinkPrefix, table: "approval_links", subject: "approval_id"}
	draftLinks    = linkKind{prefix: gatehouse.DraftLinkPrefix, table: "config_draft_links", subject: "draft_id"}
)

var errBadLink = gatehouse.Errorf(gatehouse.KindUnauthenticated, "this approve link is unknown, already used or expired: open Gatehouse and decide there instead")

// createLink stores a new link of kind k for the person and returns its token (only its hash
// is kept). It expires after ttl, or at the instant limit returns if that is sooner.
func (db *DB) createLink(ctx context.Context, k linkKind, subject int64, user string, ttl time.Duration, limit func(tx *Tx) (sql.NullInt64, error)) (gatehouse.Secret, error) {
	token := randomText(k.prefix)
	err := db.write(ctx, func(tx *Tx) error {
		expires, err := limit(tx)
		if err != nil {
			return err
		}
		until := micro(tx.now.Add(ttl))
		if expires.Valid && expires.Int64 < until {
			until = expires.Int64
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO `+k.table+` (token_hash, `+k.subject+`, user_name, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			hashText(token), subject, user, micro(tx.now), until)
		if err != nil {
			return fmt.Errorf("insert approve link: %w", err)
		}
		return nil
	})
	return gatehouse.NewSecret(token), err
}

// CreateApprovalLink makes a single-use approve link for a person and returns its token. It
// expires with the request, or after ttl if that is sooner.
func (db *DB) CreateApprovalLink(ctx context.Context, approval int64, user string, ttl time.Duration) (gatehouse.Secret, error) {
	return db.createLink(ctx, approvalLinks, approval, user, ttl, func(tx *Tx) (sql.NullInt64, error) {
		var expires sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT expires_at FROM approvals WHERE id = $1`, approval).Scan(&expires)
		return expires, notFoundOr(err, "approval request %d not found", approval)
	})
}

// CreateDraftLink makes a single-use approve link to a config draft for a person and returns
// its token. It expires after ttl; it is good only while the draft waits for approvals.
func (db *DB) CreateDraftLink(ctx context.Context, draft int64, user string, ttl time.Duration) (gatehouse.Secret, error) {
	return db.createLink(ctx, draftLinks, draft, user, ttl, func(tx *Tx) (sql.NullInt64, error) {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM config_drafts WHERE id = $1`, draft).Scan(&id)
		return sql.NullInt64{}, notFoundOr(err, "config draft %d not found", draft)
	})
}

// linkActor is the person a link was sent to, acting through the link.
func linkActor(ctx context.Context, q querier, user string) (*gatehouse.Actor, error) {
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE name = $1`, user))
	if err != nil || u.Disabled {
		return nil, errBadLink
	}
	a, err := loadActor(ctx, q, u, gatehouse.AuthLink, 0)
	if err != nil {
		return nil, err
	}
	a.Interactive = true
	return a, nil
}

// peekLink finds a live link of kind k without spending it: what it approves, and its
// person as the actor of ctx.
func (db *DB) peekLink(ctx context.Context, k linkKind, token gatehouse.Secret) (context.Context, int64, error) {
	if !strings.HasPrefix(token.Reveal(), k.prefix) {
		return ctx, 0, errBadLink
	}
	var subject int64
	var user string
	err := db.r.QueryRowContext(ctx, `SELECT `+k.subject+`, user_name FROM `+k.table+`
		WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2`, hashText(token.Reveal()), micro(db.now())).Scan(&subject, &user)
	if errors.Is(err, sql.ErrNoRows) {
		return ctx, 0, errBadLink
	} else if err != nil {
		return ctx, 0, fmt.Errorf("read approve link: %w", err)
	}
	a, err := linkActor(ctx, db.r, user)
	if err != nil {
		return ctx, 0, err
	}
	return gatehouse.WithActor(ctx, a), subject, nil
}

// spendLink marks a live link of kind k used and makes its person the actor of tx. Spending
// and voting commit together: a refused vote leaves the link unspent, and of concurrent
// redemptions only the first finds used_at empty.
func (tx *Tx) spendLink(k linkKind, token gatehouse.Secret) (int64, error) {
	if !strings.HasPrefix(token.Reveal(), k.prefix) {
		return 0, errBadLink
	}
	var subject int64
	var user string
	err := tx.QueryRowContext(tx.ctx, `UPDATE `+k.table+` SET used_at = $1
		WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING `+k.subject+`, user_name`,
		micro(tx.now), hashText(token.Reveal())).Scan(&subject, &user)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errBadLink
	} else if err != nil {
		return 0, fmt.Errorf("spend approve link: %w", err)
	}
	a, err := linkActor(tx.ctx, tx, user)
	if err != nil {
		return 0, err
	}
	tx.ctx = gatehouse.WithActor(tx.ctx, a)
	return subject, nil
}

// LinkReview implements gatehouse.ApprovalLinks.
func (s *ApprovalService) LinkReview(ctx context.Context, token gatehouse.Secret) (*gatehouse.ApprovalReview, error) {
	ctx, approval, err := s.db.peekLink(ctx, approvalLinks, token)
	if err != nil {
		return nil, err
	}
	rv, err := s.Review(ctx, approval)
	if err != nil {
		return nil, err
	}
	rv.Voter = gatehouse.ActorFrom(ctx).UserName
	return rv, nil
}

// RedeemLink implements gatehouse.ApprovalLinks.
func (s *ApprovalService) RedeemLink(ctx context.Context, token gatehouse.Secret, approve bool, d gatehouse.Decision) (*gatehouse.ApprovalRequest, error) {
	if !approve && strings.TrimSpace(d.Comment) == "" {
		return nil, gatehouse.Invalidf("comment", "is required: a rejection says why")
	}
	cast := approveCast(d)
	if !approve {
		cast = rejectCast(d)
	}
	// Spending the link and voting commit together: a refused vote leaves it unspent.
	return s.voteTx(ctx, func(tx *Tx) (int64, error) { return tx.spendLink(approvalLinks, token) }, cast)
}
