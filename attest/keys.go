package attest

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// ParseKeyFile reads an attestation key file: one base64 Ed25519 seed (32 bytes) per line,
// the current key first and retired ones after it (their public keys stay published, so
// what they signed still verifies); blank lines and lines starting with # are skipped. Its
// errors name the line, never the key.
func ParseKeyFile(text string) ([]ed25519.PrivateKey, error) {
	var keys []ed25519.PrivateKey
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		seed, err := base64.StdEncoding.DecodeString(line)
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("line %d: expected the base64 of a %d-byte Ed25519 seed", i+1, ed25519.SeedSize)
		}
		keys = append(keys, ed25519.NewKeyFromSeed(seed))
	}
	if len(keys) == 0 {
		return nil, errors.New("no key: expected one base64 Ed25519 seed per line, the current first")
	}
	return keys, nil
}

// NewKeyLine returns a new key as a line of a key file.
func NewKeyLine() string {
	seed := make([]byte, ed25519.SeedSize)
	_, _ = rand.Read(seed)
	return base64.StdEncoding.EncodeToString(seed) + "\n"
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
