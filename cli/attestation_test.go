package cli_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/attest"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/keyring"
)

// TestAttestationVerifyOffline: `attestation verify` needs no server: it accepts what the key
// signed, says what it attests, and refuses (exit 12, with the reason) another digest,
// another environment and an edited envelope; a missing or bad key is invalid input (exit 2).
func TestAttestationVerifyOffline(t *testing.T) {
	dir := t.TempDir()
	tm := &term{t: t, server: "http://127.0.0.1:1", config: filepath.Join(dir, "cli.json")}
	keys, err := attest.PrivateKeys([][]byte{keyring.NewKey(), keyring.NewKey()})
	if err != nil {
		t.Fatal(err)
	}
	s, err := attest.NewSigner(keys[0])
	if err != nil {
		t.Fatal(err)
	}
	digest := "sha256:" + strings.Repeat("ab", 32)
	env, err := s.Attest(context.Background(), digest, attest.Deployment{
		Deployment: 9, Project: "shop", App: "web", Environment: "prod", Cluster: "k", Namespace: "shop-prod",
		Image: "r.example.com/web@" + digest, Deployer: "alice", Requester: "alice", AuditSeq: 77, Policies: []attest.PolicyRef{},
		Approval: &attest.Approval{ID: 3, Votes: []attest.Vote{{Person: "bob", Approve: true, Version: 1, At: time.Now().UTC()}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	raw, _ := json.Marshal(env)
	file := write("att.json", raw)
	pub := write("key.pub", attest.MarshalPublicKey(keys[0].Public().(ed25519.PublicKey)))

	out := tm.ok("", "attestation", "verify", file, "--key", pub, "--digest", digest, "--env", "prod")
	for _, want := range []string{"verified", "deployment 9 of shop/web to prod", "request 3 approved by bob (v1)", "audit event 77"} {
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %q:\n%s", want, out)
		}
	}
	js := tm.ok("", "attestation", "verify", file, "--key", pub, "-o", "json")
	var v attest.Verified
	if err := json.Unmarshal([]byte(js), &v); err != nil || v.Digest != digest || v.Deployment.Deployment != 9 {
		t.Fatalf("-o json: %+v %v\n%s", v, err, js)
	}
	tm.fails(12, "is about "+digest, "attestation", "verify", file, "--key", pub, "--digest", "sha256:"+strings.Repeat("cd", 32))
	tm.fails(12, "deployment to prod, expected dev", "attestation", "verify", file, "--key", pub, "--env", "dev")
	edited := write("edited.json", []byte(strings.Replace(string(raw), `"payload":"`, `"payload":"e`, 1)))
	tm.fails(12, "attestation refused", "attestation", "verify", edited, "--key", pub)
	otherPub := write("other.pub", attest.MarshalPublicKey(keys[1].Public().(ed25519.PublicKey)))
	tm.fails(12, "no signature of the envelope verifies", "attestation", "verify", file, "--key", otherPub)
	tm.ok("", "attestation", "verify", file, "--key", otherPub, "--key", pub) // a retired key beside the current one
	tm.fails(2, "--key", "attestation", "verify", file)
	tm.fails(2, "PUBLIC KEY", "attestation", "verify", file, "--key", file)
	tm.fails(2, "--digest", "attestation", "verify", file, "--key", pub, "--digest", "md5:x")
}

// TestAttestationKeysFetched: `attestation keys --out` writes the server's public key as a PEM
// file that `attestation verify --key` takes, and a signature by another key does not verify
// with it.
func TestAttestationKeysFetched(t *testing.T) {
	_, dir, admin := shopWithProd(t, testdb.Engines[0])
	out := filepath.Join(dir, "keys")
	if err := os.Mkdir(out, 0o700); err != nil {
		t.Fatal(err)
	}
	admin.ok("", "attestation", "keys", "--out", out)
	files, _ := filepath.Glob(filepath.Join(out, "*.pub"))
	if len(files) != 1 {
		t.Fatalf("wrote %v, want one key", files)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := attest.ParsePublicKey(raw); err != nil {
		t.Fatalf("the written key: %v", err)
	}
	listed := admin.ok("", "attestation", "keys", "-o", "json")
	var keys []map[string]any
	if err := json.Unmarshal([]byte(listed), &keys); err != nil || len(keys) != 1 || keys[0]["current"] != true {
		t.Fatalf("keys -o json: %v\n%s", err, listed)
	}
	signed, err := attest.PrivateKeys([][]byte{keyring.NewKey()})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := attest.NewSigner(signed[0])
	digest := "sha256:" + strings.Repeat("ef", 32)
	env, err := s.Attest(context.Background(), digest, attest.Deployment{Deployment: 1, Project: "shop", App: "web", Environment: "prod",
		Cluster: "k", Namespace: "shop", Image: "r.example.com/web@" + digest, Deployer: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(env)
	file := filepath.Join(dir, "foreign.json")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	admin.fails(12, "no signature of the envelope verifies", "attestation", "verify", file, "--key", files[0])
	admin.fails(12, "no signature of the envelope verifies", "attestation", "verify", file, "--key", out)
	if err := os.WriteFile(filepath.Join(out, "signer.pub"), attest.MarshalPublicKey(signed[0].Public().(ed25519.PublicKey)), 0o600); err != nil {
		t.Fatal(err)
	}
	admin.ok("", "attestation", "verify", file, "--key", out) // the directory's keys, the signer's among them
	admin.fails(2, "holds no .pub files", "attestation", "verify", file, "--key", t.TempDir())
}
