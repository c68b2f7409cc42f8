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

// linkPrefix is the token prefix of each flow's approve links.
var linkPrefix = map[gatehouse.BallotFlow]string{
	gatehouse.FlowRequest: gatehouse.ApprovalLinkPrefix,
	gatehouse.FlowDraft:   gatehouse.DraftLinkPrefix,
}

// linkFlow is the flow a token's prefix names.
func linkFlow(token gatehouse.Secret) (gatehouse.BallotFlow, error) {
	for f, p := range linkPrefix {
		if strings.HasPrefix(token.Reveal(), p) {
			return f, nil
		}
	}
	return "", errBadLink
}

var errBadLink = gatehouse.Errorf(gatehouse.KindUnauthenticated, "this approve link is unknown, already used or expired: open Gatehouse and decide there instead")

// CreateLink makes a single-use approve link to a ballot for a person and returns its token
// (only its hash is kept). It expires after ttl, or with the approval request if that is
// sooner; a draft's link is good only while the draft takes votes.
func (db *DB) CreateLink(ctx context.Context, flow gatehouse.BallotFlow, id int64, user string, ttl time.Duration) (gatehouse.Secret, error) {
	token := randomText(linkPrefix[flow])
	err := db.write(ctx, func(tx *Tx) error {
		var expires sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT `+map[gatehouse.BallotFlow]string{gatehouse.FlowRequest: "expires_at", gatehouse.FlowDraft: "NULL"}[flow]+
			` FROM `+flowTable[flow].table+` WHERE id = $1`, id).Scan(&expires)
		if err != nil {
			return notFoundOr(err, "%s %d not found", flowTable[flow].noun, id)
		}
		until := micro(tx.now.Add(ttl))
		if expires.Valid && expires.Int64 < until {
			until = expires.Int64
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO ballot_links (token_hash, flow, ballot_id, user_name, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, hashText(token), flow, id, user, micro(tx.now), until); err != nil {
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
	a.Interactive, a.Person = true, u.Name
	return a, nil
}

// LinkService implements gatehouse.Links: one link mechanism for every kind of ballot.
type LinkService struct {
	db        *DB
	approvals *ApprovalService
	drafts    *DraftService
}

// NewLinkService returns the approve-link service of db.
func NewLinkService(db *DB) *LinkService {
	return &LinkService{db: db, approvals: NewApprovalService(db), drafts: NewDraftService(db)}
}

// show reads what a link leads to, for the person of ctx.
func (s *LinkService) show(ctx context.Context, flow gatehouse.BallotFlow, id int64) (*gatehouse.LinkBallot, error) {
	out := &gatehouse.LinkBallot{Voter: gatehouse.ActorFrom(ctx).UserName}
	var err error
	if flow == gatehouse.FlowRequest {
		out.Request, err = s.approvals.Review(ctx, id)
	} else {
		out.Draft, err = s.drafts.Draft(ctx, id)
	}
	return out, err
}

// LinkBallot implements gatehouse.Links.
func (s *LinkService) LinkBallot(ctx context.Context, token gatehouse.Secret) (*gatehouse.LinkBallot, error) {
	flow, err := linkFlow(token)
	if err != nil {
		return nil, err
	}
	var id int64
	var user string
	err = s.db.r.QueryRowContext(ctx, `SELECT ballot_id, user_name FROM ballot_links
		WHERE token_hash = $1 AND flow = $2 AND used_at IS NULL AND expires_at > $3`, hashText(token.Reveal()), flow, micro(s.db.now())).Scan(&id, &user)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errBadLink
	} else if err != nil {
		return nil, fmt.Errorf("read approve link: %w", err)
	}
	a, err := linkActor(ctx, s.db.r, user)
	if err != nil {
		return nil, err
	}
	return s.show(gatehouse.WithActor(ctx, a), flow, id)
}

// RedeemLink implements gatehouse.Links. Spending the link and voting commit together: a
// refused vote leaves the link unspent, and of concurrent redemptions only the first finds
// it unused.
func (s *LinkService) RedeemLink(ctx context.Context, token gatehouse.Secret, approve bool, d gatehouse.Decision) (*gatehouse.LinkBallot, error) {
	flow, err := linkFlow(token)
	if err != nil {
		return nil, err
	}
	if !approve && strings.TrimSpace(d.Comment) == "" {
		return nil, gatehouse.Invalidf("comment", "is required: a rejection says why")
	}
	var id int64
	var voter *gatehouse.Actor
	var after error
	err = s.db.write(ctx, func(tx *Tx) error {
		var user string
		err := tx.QueryRowContext(tx.ctx, `UPDATE ballot_links SET used_at = $1
			WHERE token_hash = $2 AND flow = $3 AND used_at IS NULL AND expires_at > $1 RETURNING ballot_id, user_name`,
			micro(tx.now), hashText(token.Reveal()), flow).Scan(&id, &user)
		if errors.Is(err, sql.ErrNoRows) {
			return errBadLink
		} else if err != nil {
			return fmt.Errorf("spend approve link: %w", err)
		}
		if voter, err = linkActor(tx.ctx, tx, user); err != nil {
			return err
		}
		tx.ctx = gatehouse.WithActor(tx.ctx, voter)
		if flow == gatehouse.FlowRequest {
			_, after, err = voteIn(tx, id, approve, d)
			return err
		}
		_, r, err := s.db.visibleDraft(tx.ctx, tx, id, tx.db.dialect.forUpdateOf("d"))
		if err != nil {
			return err
		}
		return tx.voteDraft(r, approve, d)
	})
	if err == nil {
		err = after
	}
	if err != nil {
		return nil, err
	}
	return s.show(gatehouse.WithActor(ctx, voter), flow, id)
}
