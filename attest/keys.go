package attest

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// PrivateKeys makes signing keys of Ed25519 seeds, as a key file holds them (one base64
// 32-byte key per line, the current first, retired after: keyring.LoadOrCreate reads and
// creates such files; retired keys' public keys stay published, so what they signed still
// verifies). Its errors name the key by its place, never its bytes.
func PrivateKeys(seeds [][]byte) ([]ed25519.PrivateKey, error) {
	if len(seeds) == 0 {
		return nil, errors.New("no attestation key")
	}
	keys := make([]ed25519.PrivateKey, len(seeds))
	for i, seed := range seeds {
		if len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("attestation key %d: expected a %d-byte Ed25519 seed", i+1, ed25519.SeedSize)
		}
		keys[i] = ed25519.NewKeyFromSeed(seed)
	}
	return keys, nil
}

// MarshalPublicKey encodes a public key as PEM ("PUBLIC KEY", PKIX), the form verifiers take.
func MarshalPublicKey(pub ed25519.PublicKey) []byte {
	der, _ := x509.MarshalPKIXPublicKey(pub) // cannot fail for an Ed25519 key
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// ParsePublicKey reads a PEM public key ("PUBLIC KEY", PKIX) that must be Ed25519.
func ParsePublicKey(data []byte) (ed25519.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("public key: expected a PEM block of type PUBLIC KEY")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key: %T, expected an Ed25519 key", k)
	}
	return pub, nil
}
