package sqlstore

import (
	"context"
	"crypto/ed25519"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/attest"
)

// AttestationService implements gatehouse.AttestationService over the store's keys.
type AttestationService struct{ db *DB }

// NewAttestationService returns the attestation service of db.
func NewAttestationService(db *DB) *AttestationService { return &AttestationService{db: db} }

// AttestationKeys implements gatehouse.AttestationService.
func (s *AttestationService) AttestationKeys(ctx context.Context) ([]gatehouse.AttestationKey, error) {
	if _, err := actor(ctx); err != nil {
		return nil, err
	}
	if len(s.db.attestKeys) == 0 {
		return nil, gatehouse.Errorf(gatehouse.KindUnavailable, "this server signs no attestations: it was started without an attestation key")
	}
	out := make([]gatehouse.AttestationKey, 0, len(s.db.attestKeys))
	for i, k := range s.db.attestKeys {
		pub := k.Public().(ed25519.PublicKey)
		id, err := attest.KeyID(pub)
		if err != nil {
			return nil, err
		}
		out = append(out, gatehouse.AttestationKey{KeyID: id, PublicKey: string(attest.MarshalPublicKey(pub)), Current: i == 0})
	}
	return out, nil
}
