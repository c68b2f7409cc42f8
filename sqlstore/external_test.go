package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// TestLoginExternalConcurrentFirstSignIns: many first sign-ins of one new person at once
// (tabs, retries) all open sessions for one user with one link; those of different people
// whose preferred names clash get distinct names.
func TestLoginExternalConcurrentFirstSignIns(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		ctx := context.Background()
		const n = 16
		users := make([]string, n)
		errs := concurrently(n, func(i int) error {
			sub := "same-person"
			if i%2 == 1 {
				sub = "other-" + string(rune('a'+i)) // a different person wanting the same name
			}
			s, err := f.identity.LoginExternal(ctx, gatehouse.ExternalLogin{CreateUsers: true, Identity: gatehouse.ExternalIdentity{
				Issuer: "https://id.example", Subject: sub, Username: "pat", Email: "pat@example.com"}}, time.Hour)
			if err == nil {
				users[i] = s.User
			}
			return err
		})
		names := map[string]bool{}
		for i, err := range errs {
			if err != nil {
				t.Fatalf("sign-in %d: %v", i, err)
			}
			if i%2 == 0 && users[i] != users[0] {
				t.Fatalf("one person signed in as %s and %s", users[0], users[i])
			}
			names[users[i]] = true
		}
		if len(names) != 1+n/2 {
			t.Fatalf("%d distinct users for %d people: %v", len(names), 1+n/2, names)
		}
		if c := f.countRows(`SELECT COUNT(*) FROM user_identities`); c != 1+n/2 {
			t.Fatalf("%d identity links, want %d", c, 1+n/2)
		}
	})
}
