package attest_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"

	"github.com/gatehousehq/gatehouse/attest"
	"github.com/gatehousehq/gatehouse/keyring"
)

const digest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"

func predicate() attest.Deployment {
	return attest.Deployment{
		Deployment: 7, Project: "shop", App: "web", Environment: "prod", Cluster: "k", Namespace: "shop-prod",
		Image: "registry.example.com/web:1.2@" + digest, Chart: attest.Chart{Name: "app", Version: "1.0.0", Digest: "sha256:abcd"},
		ConfigRevision: 3, SecretsRevision: 2,
		Approval: &attest.Approval{ID: 4, Votes: []attest.Vote{{Person: "bob", Approve: true, Version: 1, Comment: "fine", At: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)}}},
		Policies: []attest.PolicyRef{{Name: "prod-gate", Version: 2}}, Requester: "alice", Deployer: "alice", AuditSeq: 42,
		FinishedAt: time.Date(2026, 12, 4, 10, 5, 0, 0, time.UTC),
	}
}

func keys(t *testing.T, n int) []ed25519.PrivateKey {
	t.Helper()
	var seeds [][]byte
	for range n {
		seeds = append(seeds, keyring.NewKey())
	}
	ks, err := attest.PrivateKeys(seeds)
	if err != nil || len(ks) != n {
		t.Fatalf("keys: %d, %v", len(ks), err)
	}
	return ks
}

func sign(t *testing.T, key ed25519.PrivateKey, p attest.Deployment) []byte {
	t.Helper()
	s, err := attest.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	env, err := s.Attest(context.Background(), digest, p)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func public(t *testing.T, k ed25519.PrivateKey) ed25519.PublicKey {
	t.Helper()
	pub, err := attest.ParsePublicKey(attest.MarshalPublicKey(k.Public().(ed25519.PublicKey)))
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// TestAttestationVerifies: what one key signed verifies with its published public key (also
// when the key is retired and another is current), says what it attests, and meets the
// digest and environment it is about.
func TestAttestationVerifies(t *testing.T) {
	ks := keys(t, 2)
	raw := sign(t, ks[1], predicate())
	v, err := attest.Verify(context.Background(), raw, []ed25519.PublicKey{public(t, ks[0]), public(t, ks[1])}, attest.Expect{Digest: digest, Environment: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := attest.KeyID(ks[1].Public().(ed25519.PublicKey))
	if v.KeyID != want || v.Digest != digest {
		t.Fatalf("verified by %s about %s, want %s about %s", v.KeyID, v.Digest, want, digest)
	}
	got, _ := json.Marshal(v.Deployment)
	if exp, _ := json.Marshal(predicate()); string(got) != string(exp) {
		t.Fatalf("predicate read back:\n%s\nwant\n%s", got, exp)
	}
	var env dsse.Envelope
	_ = json.Unmarshal(raw, &env)
	body, _ := env.DecodeB64Payload()
	for _, w := range []string{`"_type":"https://in-toto.io/Statement/v1"`, `"predicateType":"https://gatehouse.dev/deployment/v1"`,
		`"name":"registry.example.com/web"`, `"sha256":"1111`} {
		if !strings.Contains(string(body), w) {
			t.Errorf("statement lacks %s:\n%s", w, body)
		}
	}
}

// TestAttestationRefused: every way an attestation can be wrong is refused, naming what.
func TestAttestationRefused(t *testing.T) {
	ks := keys(t, 2)
	raw := sign(t, ks[0], predicate())
	good := []ed25519.PublicKey{public(t, ks[0])}
	var env dsse.Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	tamper := func(edit func(body string) string) []byte {
		body, _ := env.DecodeB64Payload()
		e := env
		e.Payload = base64.StdEncoding.EncodeToString([]byte(edit(string(body))))
		out, _ := json.Marshal(e)
		return out
	}
	for _, c := range []struct {
		name     string
		envelope []byte
		keys     []ed25519.PublicKey
		want     attest.Expect
		err      string
	}{
		{"another key", raw, []ed25519.PublicKey{public(t, ks[1])}, attest.Expect{}, "no signature of the envelope verifies"},
		{"no key", raw, nil, attest.Expect{}, "no public key"},
		{"environment edited", tamper(func(b string) string { return strings.Replace(b, `"prod"`, `"dev"`, 1) }), good, attest.Expect{}, "no signature of the envelope verifies"},
		{"digest edited", tamper(func(b string) string { return strings.Replace(b, "1111", "2222", 1) }), good, attest.Expect{}, "no signature of the envelope verifies"},
		{"other digest", raw, good, attest.Expect{Digest: "sha256:" + strings.Repeat("2", 64)}, "is about sha256:1111"},
		{"other environment", raw, good, attest.Expect{Environment: "dev"}, "deployment to prod, expected dev"},
		{"not an envelope", []byte("hello"), good, attest.Expect{}, "not a DSSE envelope"},
		{"other payload type", []byte(`{"payloadType":"text/plain","payload":"","signatures":[]}`), good, attest.Expect{}, "payload type"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := attest.Verify(context.Background(), c.envelope, c.keys, c.want)
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("error %v, want one saying %q", err, c.err)
			}
		})
	}
}

// TestAttestRefusesIncompletePredicates: a predicate without a deployer, a digest that is
// not sha256, or a subject digest other than the image's is not signed.
func TestAttestRefusesIncompletePredicates(t *testing.T) {
	s, err := attest.NewSigner(keys(t, 1)[0])
	if err != nil {
		t.Fatal(err)
	}
	p := predicate()
	p.Deployer = ""
	if _, err := s.Attest(context.Background(), digest, p); err == nil || !strings.Contains(err.Error(), "deployer is empty") {
		t.Fatalf("no deployer: %v", err)
	}
	if _, err := s.Attest(context.Background(), "md5:abc", predicate()); err == nil || !strings.Contains(err.Error(), "expected sha256") {
		t.Fatalf("md5 digest: %v", err)
	}
	other := "sha256:" + strings.Repeat("2", 64)
	if _, err := s.Attest(context.Background(), other, predicate()); err == nil || !strings.Contains(err.Error(), "is not the image's") {
		t.Fatalf("a subject digest the image does not have: %v", err)
	}
}

// TestKeysRefused: seeds of the wrong size and public keys that are not Ed25519 PEM are
// refused.
func TestKeysRefused(t *testing.T) {
	if _, err := attest.PrivateKeys(nil); err == nil {
		t.Error("no seeds made keys")
	}
	if _, err := attest.PrivateKeys([][]byte{keyring.NewKey(), []byte("short")}); err == nil || !strings.Contains(err.Error(), "attestation key 2") {
		t.Errorf("a short seed: %v", err)
	}
	if _, err := attest.ParsePublicKey([]byte("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n")); err == nil {
		t.Error("a private key block was taken for a public key")
	}
}

// FuzzVerify: no envelope makes Verify panic, and none verifies without the signing key.
func FuzzVerify(f *testing.F) {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	s, err := attest.NewSigner(key)
	if err != nil {
		f.Fatal(err)
	}
	env, err := s.Attest(context.Background(), digest, predicate())
	if err != nil {
		f.Fatal(err)
	}
	raw, _ := json.Marshal(env)
	f.Add(raw)
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"","sig":"AA=="}]}`))
	other := ed25519.NewKeyFromSeed([]byte(strings.Repeat("x", ed25519.SeedSize))).Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := attest.Verify(context.Background(), data, []ed25519.PublicKey{other}, attest.Expect{}); err == nil {
			t.Fatalf("verified with a key that signed nothing: %q", data)
		}
		_, _ = attest.Verify(context.Background(), data, []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}, attest.Expect{Digest: digest})
	})
}
