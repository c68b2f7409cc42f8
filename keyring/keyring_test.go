package keyring_test

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/keyring"
)

func TestSealOpen(t *testing.T) {
	old, cur := keyring.NewKey(), keyring.NewKey()
	oldRing, err := keyring.New(old)
	if err != nil {
		t.Fatal(err)
	}
	sealedByOld := oldRing.Seal([]byte("kubeconfig"), "cluster/a")
	ring, err := keyring.New(cur, old)
	if err != nil {
		t.Fatal(err)
	}
	s := ring.Seal([]byte("kubeconfig"), "cluster/a")
	if strings.Contains(s, "kubeconfig") || !strings.HasPrefix(s, keyring.Prefix(ring.CurrentID())) || keyring.SealedBy(s) != ring.CurrentID() || keyring.SealedBy(sealedByOld) != keyring.KeyID(old) {
		t.Fatalf("sealed = %q", s)
	}
	for _, v := range []string{s, sealedByOld} {
		pt, err := ring.Open(v, "cluster/a")
		if err != nil || string(pt) != "kubeconfig" {
			t.Fatalf("open: %q %v", pt, err)
		}
	}
	if ring.Seal([]byte("x"), "a") == ring.Seal([]byte("x"), "a") {
		t.Fatal("sealing twice gives the same text: nonce reuse")
	}
	// Wrong place, tampered text, unknown key: all refused the same way.
	flip := []byte(s)
	flip[len(flip)-3] ^= 1
	newOnly, _ := keyring.New(cur)
	for name, try := range map[string]func() error{
		"other place": func() error { _, err := ring.Open(s, "cluster/b"); return err },
		"tampered":    func() error { _, err := ring.Open(string(flip), "cluster/a"); return err },
		"unknown key": func() error { _, err := newOnly.Open(sealedByOld, "cluster/a"); return err },
		"not sealed":  func() error { _, err := ring.Open("plain", "cluster/a"); return err },
	} {
		if err := try(); !errors.Is(err, keyring.ErrOpen) {
			t.Errorf("%s: %v, want ErrOpen", name, err)
		}
	}
	if _, err := keyring.New([]byte("short")); err == nil {
		t.Fatal("a short key was accepted")
	}
}

func TestLoadOrCreate(t *testing.T) {
	p := filepath.Join(t.TempDir(), "keys", "secret.key")
	keys, created, err := keyring.LoadOrCreate(p)
	if err != nil || !created || len(keys) != 1 {
		t.Fatalf("create: %v %v %v", keys, created, err)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", fi, err)
	}
	again, created, err := keyring.LoadOrCreate(p)
	if err != nil || created || string(again[0]) != string(keys[0]) {
		t.Fatalf("reload: %v %v", created, err)
	}
	// Rotation: a new key first, the old one kept.
	text := "# rotated\n" + base64.StdEncoding.EncodeToString(keyring.NewKey()) + "\n" + base64.StdEncoding.EncodeToString(keys[0]) + "\n"
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	rotated, _, err := keyring.LoadOrCreate(p)
	if err != nil || len(rotated) != 2 || string(rotated[1]) != string(keys[0]) {
		t.Fatalf("rotated: %d keys, %v", len(rotated), err)
	}
	if err := os.WriteFile(p, []byte("not base64!\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := keyring.LoadOrCreate(p); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("bad key file: %v", err)
	}
}
