package sqlstore_test

import (
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// TestAttestationKeysNeedAKey: a store opened without attestation keys says it signs none
// (unavailable), and a seed of the wrong size does not open; the published keys are for
// signed-in callers only.
func TestAttestationKeysNeedAKey(t *testing.T) {
	f := newFixture(t, "sqlite", func(o *sqlstore.Options) { o.AttestationKeys = nil })
	_, err := sqlstore.NewAttestationService(f.db).AttestationKeys(f.admin)
	if gatehouse.KindOf(err) != gatehouse.KindUnavailable {
		t.Fatalf("keys of a store without any: %v, want unavailable", err)
	}
	if _, err := sqlstore.NewAttestationService(f.db).AttestationKeys(t.Context()); gatehouse.KindOf(err) != gatehouse.KindUnauthenticated {
		t.Fatalf("keys without a caller: %v, want unauthenticated", err)
	}
	keys := testdb.NewKeys(t)
	_, err = sqlstore.Open(t.Context(), sqlstore.Options{DSN: testdb.DSN(t, "sqlite"), Secrets: keys.Secrets, AuditKey: keys.AuditKey,
		AttestationKeys: [][]byte{[]byte("short")}})
	if err == nil || !strings.Contains(err.Error(), "attestation key 1") || strings.Contains(err.Error(), "short") {
		t.Fatalf("open with a short attestation seed: %v", err)
	}
}
