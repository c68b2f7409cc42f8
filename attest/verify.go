package attest

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"google.golang.org/protobuf/encoding/protojson"
)

var errBadSignature = errors.New("signature does not match")

// Expect is what a verifier requires of an attestation beyond a good signature; empty fields
// require nothing.
type Expect struct {
	Digest      string // the image digest it must be about, "sha256:<hex>"
	Environment string // the environment it must have been deployed to
}

// Verified is an attestation whose signature and expectations held.
type Verified struct {
	KeyID      string
	Digest     string
	Deployment Deployment
}

// Verify checks a DSSE envelope (JSON) against the public keys: at least one must have signed
// it, the payload must be an in-toto Statement v1 of PredicateType, and it must meet want.
// Its errors say which of these failed and how.
func Verify(ctx context.Context, envelope []byte, keys []ed25519.PublicKey, want Expect) (*Verified, error) {
	var env dsse.Envelope
	if err := json.Unmarshal(envelope, &env); err != nil {
		return nil, fmt.Errorf("not a DSSE envelope: %w", err)
	}
	if env.PayloadType != PayloadType {
		return nil, fmt.Errorf("payload type is %q, expected %q", env.PayloadType, PayloadType)
	}
	if len(keys) == 0 {
		return nil, errors.New("no public key to verify with")
	}
	var vs []dsse.Verifier
	for _, k := range keys {
		id, err := KeyID(k)
		if err != nil {
			return nil, err
		}
		vs = append(vs, verifier{pub: k, id: id})
	}
	ev, err := dsse.NewMultiEnvelopeVerifier(1, vs...)
	if err != nil {
		return nil, err
	}
	accepted, body, err := ev.VerifyAndDecode(ctx, &env)
	if err != nil {
		return nil, fmt.Errorf("signature: no signature of the envelope verifies with the given key(s): %w", err)
	}
	var st intoto.Statement
	if err := protojson.Unmarshal(body, &st); err != nil {
		return nil, fmt.Errorf("payload is not an in-toto statement: %w", err)
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	if st.GetPredicateType() != PredicateType {
		return nil, fmt.Errorf("predicate type is %q, expected %q", st.GetPredicateType(), PredicateType)
	}
	if len(st.GetSubject()) != 1 || st.GetSubject()[0].GetDigest()["sha256"] == "" {
		return nil, errors.New("statement: expected one subject with a sha256 digest")
	}
	out := &Verified{KeyID: accepted[0].KeyID, Digest: "sha256:" + st.GetSubject()[0].GetDigest()["sha256"]}
	raw, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return nil, fmt.Errorf("predicate: %w", err)
	}
	if err := json.Unmarshal(raw, &out.Deployment); err != nil {
		return nil, fmt.Errorf("predicate: %w", err)
	}
	if err := out.Deployment.Validate(); err != nil {
		return nil, err
	}
	if want.Digest != "" && want.Digest != out.Digest {
		return nil, fmt.Errorf("the attestation is about %s, expected %s", out.Digest, want.Digest)
	}
	if want.Environment != "" && want.Environment != out.Deployment.Environment {
		return nil, fmt.Errorf("the attestation is of a deployment to %s, expected %s", out.Deployment.Environment, want.Environment)
	}
	return out, nil
}
