package sqlstore

import (
	"context"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

// DraftLinkReview implements gatehouse.DraftLinks.
func (s *ConfigService) DraftLinkReview(ctx context.Context, token gatehouse.Secret) (*gatehouse.DraftReview, error) {
	ctx, id, err := s.db.peekLink(ctx, draftLinks, token)
	if err != nil {
		return nil, err
	}
	d, err := s.ConfigDraft(ctx, id)
	if err != nil {
		return nil, err
	}
	return &gatehouse.DraftReview{Draft: d, Voter: gatehouse.ActorFrom(ctx).UserName}, nil
}

// RedeemDraftLink implements gatehouse.DraftLinks.
func (s *ConfigService) RedeemDraftLink(ctx context.Context, token gatehouse.Secret, approve bool, d gatehouse.Decision) (*gatehouse.ConfigDraft, error) {
	if !approve && strings.TrimSpace(d.Comment) == "" {
		return nil, gatehouse.Invalidf("comment", "is required: a rejection says why")
	}
	var id int64
	var voter *gatehouse.Actor
	err := s.db.write(ctx, func(tx *Tx) error {
		var err error
		if id, err = tx.spendLink(draftLinks, token); err != nil {
			return err
		}
		voter = gatehouse.ActorFrom(tx.ctx)
		r, err := findDraft(tx.ctx, tx, id, tx.db.dialect.forUpdateOf("d"))
		if err != nil {
			return err
		}
		return tx.voteDraft(r, approve, d)
	})
	if err != nil {
		return nil, err
	}
	return s.ConfigDraft(gatehouse.WithActor(ctx, voter), id)
}
