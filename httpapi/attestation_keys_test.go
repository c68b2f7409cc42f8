package httpapi_test

import (
	"context"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/attest"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

// TestAttestationKeysPublished: any signed-in person reads the server's attestation public key
// (PEM), marked current and named by the id its signatures carry; without credentials, no.
func TestAttestationKeysPublished(t *testing.T) {
	srv := testserver.Start(t, testdb.Engines[0])
	viewer := srv.Person("vera", "viewer@project:shop")
	var page struct {
		Items []gatehouse.AttestationKey `json:"items"`
	}
	if err := viewer.Do(context.Background(), "GET", "/api/v1/attestation-keys", nil, nil, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || !page.Items[0].Current {
		t.Fatalf("keys: %+v", page.Items)
	}
	pub, err := attest.ParsePublicKey([]byte(page.Items[0].PublicKey))
	if err != nil {
		t.Fatalf("published key: %v", err)
	}
	if id, _ := attest.KeyID(pub); id != page.Items[0].KeyID {
		t.Fatalf("key id %s, but the key's fingerprint is %s", page.Items[0].KeyID, id)
	}
	anonymous := viewer
	anonymous.Token = ""
	if err := anonymous.Do(context.Background(), "GET", "/api/v1/attestation-keys", nil, nil, &page); gatehouse.KindOf(err) != gatehouse.KindUnauthenticated {
		t.Fatalf("without credentials: %v", err)
	}
}
