package gatehouse

import "context"

// AttestationKey is a public key that signs, or signed, deployment attestations.
type AttestationKey struct {
	KeyID     string `json:"key_id"`     // its SHA-256 fingerprint, as signatures name it
	PublicKey string `json:"public_key"` // PEM (PKIX)
	Current   bool   `json:"current"`    // the key that signs now; the others are retired
}

// AttestationService publishes what verifies Gatehouse's deployment attestations.
type AttestationService interface {
	// AttestationKeys lists the public keys, the current first. Verifiers take them all: what
	// a retired key signed still verifies with it. Errors: unauthenticated; unavailable when
	// the server has no attestation key.
	AttestationKeys(ctx context.Context) ([]AttestationKey, error)
}
