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

const linkPrefix = "gha_"

var errBadLink = gatehouse.Errorf(gatehouse.KindUnauthenticated, "this approve link is unknown, already used or expired: open the request in Gatehouse instead")

// CreateApprovalLink makes a single-use approve link for a person and returns its token (the
// store keeps only the hash). It expires with the request, or after ttl if that is sooner.
func (db *DB) CreateApprovalLink(ctx context.Context, approval int64, user string, ttl time.Duration) (gatehouse.Secret, error) {
	token := randomText(linkPrefix)
	err := db.write(ctx, func(tx *Tx) error {
		var expires sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT expires_at FROM approvals WHERE id = $1`, approval).Scan(&expires); err != nil {
			return notFoundOr(err, "approval request %d not found", approval)
		}
		until := micro(tx.now.Add(ttl))
		if expires.Valid && expires.Int64 < until {
			until = expires.Int64
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO approval_links (token_hash, approval_id, user_name, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			hashText(token), approval, user, micro(tx.now), until)
		if err != nil {
			return fmt.Errorf("insert approve link: %w", err)
		}
		return nil
	})
	return gatehouse.NewSecret(token), err
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

// LinkReview implements gatehouse.ApprovalLinks.
func (s *ApprovalService) LinkReview(ctx context.Context, token gatehouse.Secret) (*gatehouse.ApprovalReview, error) {
	if !strings.HasPrefix(token.Reveal(), linkPrefix) {
		return nil, errBadLink
	}
	var approval int64
	var user string
	err := s.db.r.QueryRowContext(ctx, `SELECT approval_id, user_name FROM approval_links
		WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2`, hashText(token.Reveal()), micro(s.db.now())).Scan(&approval, &user)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errBadLink
	} else if err != nil {
		return nil, fmt.Errorf("read approve link: %w", err)
	}
	a, err := linkActor(ctx, s.db.r, user)
	if err != nil {
		return nil, err
	}
	rv, err := s.Review(gatehouse.WithActor(ctx, a), approval)
	if err != nil {
		return nil, err
	}
	rv.Voter = user
	return rv, nil
}

// RedeemLink implements gatehouse.ApprovalLinks.
func (s *ApprovalService) RedeemLink(ctx context.Context, token gatehouse.Secret, approve bool, d gatehouse.Decision) (*gatehouse.ApprovalRequest, error) {
	if !strings.HasPrefix(token.Reveal(), linkPrefix) {
		return nil, errBadLink
	}
	if !approve && strings.TrimSpace(d.Comment) == "" {
		return nil, gatehouse.Invalidf("comment", "is required: a rejection says why")
	}
	var id int64
	var out *gatehouse.ApprovalRequest
	var after error
	err := s.db.write(ctx, func(tx *Tx) error {
		var user string
		// Spending the link and voting commit together: a refused vote leaves it unspent, and
		// of concurrent redemptions only the first finds used_at empty.
		err := tx.QueryRowContext(ctx, `UPDATE approval_links SET used_at = $1
			WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING approval_id, user_name`,
			micro(tx.now), hashText(token.Reveal())).Scan(&id, &user)
		if errors.Is(err, sql.ErrNoRows) {
			return errBadLink
		} else if err != nil {
			return fmt.Errorf("spend approve link: %w", err)
		}
		a, err := linkActor(ctx, tx, user)
		if err != nil {
			return err
		}
		tx.ctx = gatehouse.WithActor(tx.ctx, a)
		cast := approveCast(d)
		if !approve {
			cast = rejectCast(d)
		}
		out, after, err = voteIn(tx, id, cast)
		return err
	})
	if err == nil {
		err = after
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Review returns what an approver needs to decide on a request: compared with the
// environment's last successful deployment, the image and the values that would change.
func (s *ApprovalService) Review(ctx context.Context, id int64) (*gatehouse.ApprovalReview, error) {
	r, err := s.Approval(ctx, id)
	if err != nil {
		return nil, err
	}
	rv := &gatehouse.ApprovalReview{Request: r, Changes: []gatehouse.ValueChange{}}
	app, err := findApp(ctx, s.db.r, r.Project, r.App)
	if err != nil {
		return nil, err
	}
	env, err := findEnvironment(ctx, s.db.r, r.Project, r.Environment)
	if err != nil {
		return nil, err
	}
	art, err := findArtifact(ctx, s.db.r, app, r.Digest)
	if err != nil {
		return nil, err
	}
	ec, err := s.db.effectiveConfig(ctx, s.db.r, app, env)
	if err != nil {
		return nil, err
	}
	next := gatehouse.RenderValues(gatehouse.MergeValues(ec.values, s.db.secretMarks(ec.secrets), gatehouse.ImageValues(art)))
	prev, err := scanDeployment(s.db.r.QueryRowContext(ctx, deploymentSelect+` WHERE d.app_id = $1 AND d.environment_id = $2
		AND d.state = 'succeeded' ORDER BY d.id DESC LIMIT 1`, app.ID, env.ID))
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("last deployment: %w", err)
	}
	candidate := &gatehouse.Deployment{Image: art.Reference(), Values: next}
	if prev == nil {
		prev = &gatehouse.Deployment{}
	} else {
		rv.Previous = maskedDeployment(prev)
	}
	d, err := gatehouse.DiffDeployments(prev, candidate)
	if err != nil {
		return nil, err
	}
	rv.ImageChange, rv.Changes = d.Image, d.Changes
	return rv, nil
}
