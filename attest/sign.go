package attest

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"strings"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/gatehousehq/gatehouse"
)

// Signer signs attestations with one Ed25519 key, named by its KeyID in each signature.
type Signer struct {
	key ed25519.PrivateKey
	id  string
}

// NewSigner returns a signer of key.
func NewSigner(key ed25519.PrivateKey) (*Signer, error) {
	id, err := KeyID(key.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err
	}
	return &Signer{key: key, id: id}, nil
}

// KeyID names a public key: its SHA-256 fingerprint as ssh-keygen prints it.
func KeyID(pub ed25519.PublicKey) (string, error) {
	id, err := dsse.SHA256KeyID(pub)
	if err != nil {
		return "", fmt.Errorf("key id: %w", err)
	}
	return id, nil
}

// Sign implements dsse.Signer.
func (s *Signer) Sign(_ context.Context, data []byte) ([]byte, error) {
	return ed25519.Sign(s.key, data), nil
}

// KeyID implements dsse.Signer.
func (s *Signer) KeyID() (string, error) { return s.id, nil }

// Attest returns the signed attestation that p deployed digest ("sha256:<hex>"), as a DSSE
// envelope of an in-toto Statement v1.
func (s *Signer) Attest(ctx context.Context, digest string, p Deployment) (*dsse.Envelope, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := gatehouse.ValidateDigest("subject digest", digest); err != nil {
		return nil, err
	}
	repo, imageDigest, _, err := gatehouse.ParseImage("image", p.Image)
	if err != nil {
		return nil, err
	}
	if imageDigest != digest {
		return nil, fmt.Errorf("subject digest %s is not the image's (%s)", digest, p.Image)
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("predicate: %w", err)
	}
	pred := &structpb.Struct{}
	if err := protojson.Unmarshal(raw, pred); err != nil {
		return nil, fmt.Errorf("predicate: %w", err)
	}
	st := &intoto.Statement{
		Type:          intoto.StatementTypeUri,
		Subject:       []*intoto.ResourceDescriptor{{Name: repo, Digest: map[string]string{"sha256": strings.TrimPrefix(digest, "sha256:")}}},
		PredicateType: PredicateType,
		Predicate:     pred,
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	body, err := protojson.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	es, err := dsse.NewEnvelopeSigner(s)
	if err != nil {
		return nil, err
	}
	return es.SignPayload(ctx, PayloadType, body)
}

// verifier checks signatures of one public key.
type verifier struct {
	pub ed25519.PublicKey
	id  string
}

func (v verifier) Verify(_ context.Context, data, sig []byte) error {
	if !ed25519.Verify(v.pub, data, sig) {
		return errBadSignature
	}
	return nil
}

func (v verifier) KeyID() (string, error)   { return v.id, nil }
func (v verifier) Public() crypto.PublicKey { return v.pub }
