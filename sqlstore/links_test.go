package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// TestApproveLinkIsSingleUse: a hundred concurrent redemptions of one link record exactly one
// vote; reading the review spends nothing; a spent or forged link is refused.
func TestApproveLinkIsSingleUse(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		g := newGated(t, engine)
		_, err := g.apps.SetOverrides(g.admin, "shop", "web", "prod", "replicas: 5\n")
		g.must(err)
		_, err = g.config.SetConfig(g.admin, gatehouse.ConfigRef{Project: "shop", App: "web", Environment: "prod", Kind: gatehouse.ConfigSecrets},
			gatehouse.ConfigWrite{Content: "DB_PASSWORD: planted-secret-value\n"})
		g.must(err)
		r := g.request(g.alice, g.digestA)
		ctx := context.Background()
		token, err := g.db.CreateLink(ctx, gatehouse.FlowRequest, r.ID, "carol", 24*time.Hour)
		g.must(err)
		links := sqlstore.NewLinkService(g.db)
		b, err := links.LinkBallot(ctx, token)
		g.must(err)
		rv := b.Request
		if b.Voter != "carol" || rv == nil || rv.Request.ID != r.ID || rv.ImageChange == nil {
			t.Fatalf("review = %+v", b)
		}
		sawSecret := false
		for _, c := range rv.Changes {
			if c.Path == "secrets.DB_PASSWORD" {
				sawSecret = true
				if c.New != gatehouse.Masked {
					t.Fatalf("review shows a secret: %+v", c)
				}
			}
		}
		if !sawSecret {
			t.Fatalf("review does not say the secret DB_PASSWORD is new: %+v", rv.Changes)
		}
		if _, err := links.LinkBallot(ctx, token); err != nil {
			t.Fatalf("reading the review spent the link: %v", err)
		}
		wins, refusals := 0, 0
		for _, err := range concurrently(100, func(int) error {
			_, err := links.RedeemLink(ctx, token, true, gatehouse.Decision{Comment: "from mail"})
			return err
		}) {
			if err == nil {
				wins++
			} else if gatehouse.KindOf(err) == gatehouse.KindUnauthenticated {
				refusals++
			} else {
				t.Errorf("redemption: %v", err)
			}
		}
		got, err := g.approvals.Approval(g.admin, r.ID)
		g.must(err)
		if wins != 1 || refusals != 99 || len(got.Votes) != 1 || got.Votes[0].Voter != "carol" || got.Votes[0].Via != gatehouse.AuthLink {
			t.Fatalf("%d wins, %d refusals, votes %+v", wins, refusals, got.Votes)
		}
		_, err = links.LinkBallot(ctx, token)
		wantErr(t, err, gatehouse.KindUnauthenticated, "already used")
		_, err = links.RedeemLink(ctx, gatehouse.NewSecret("gha_forged"), true, gatehouse.Decision{})
		wantErr(t, err, gatehouse.KindUnauthenticated)
		// A refused vote leaves the link unspent: alice (the requester) cannot approve by mail.
		aliceLink, err := g.db.CreateLink(ctx, gatehouse.FlowRequest, r.ID, "alice", time.Hour)
		g.must(err)
		_, err = links.RedeemLink(ctx, aliceLink, true, gatehouse.Decision{})
		wantErr(t, err, gatehouse.KindForbidden, "alice requested it")
		if _, err := links.LinkBallot(ctx, aliceLink); err != nil {
			t.Fatalf("a refused vote spent the link: %v", err)
		}
		// Links die with their request's expiry.
		bobLink, err := g.db.CreateLink(ctx, gatehouse.FlowRequest, r.ID, "bob", 1000*time.Hour)
		g.must(err)
		g.clock.Advance(73 * time.Hour)
		_, err = links.RedeemLink(ctx, bobLink, true, gatehouse.Decision{})
		wantErr(t, err, gatehouse.KindUnauthenticated)
	})
}
