// Package keyring seals secrets for storage with AES-256-GCM and loads the keys that do it.
//
// A key file holds one base64 key per line, the current key first; older keys stay to open what
// they sealed until a rotation re-seals it. A sealed value names the key that sealed it, so
// rotation never needs to guess.
package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the size of every key: 32 bytes, for AES-256.
const KeySize = 32

const sealPrefix = "gh1:"

// ErrOpen is returned when a sealed value cannot be opened: it was tampered with, or sealed by
// a key this keyring does not hold.
var ErrOpen = errors.New("keyring: cannot open sealed value")

// Keyring seals with its current key and opens with any of its keys. It is safe for concurrent
// use.
type Keyring struct {
	current string
	aeads   map[string]cipher.AEAD
}

// New builds a keyring from raw keys, the current one first.
func New(keys ...[]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("keyring: no keys")
	}
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	for i, key := range keys {
		if len(key) != KeySize {
			return nil, fmt.Errorf("keyring: key %d is %d bytes, expected %d", i+1, len(key), KeySize)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("keyring: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("keyring: %w", err)
		}
		id := KeyID(key)
		if i == 0 {
			k.current = id
		}
		k.aeads[id] = aead
	}
	return k, nil
}

// KeyID names a key without revealing it: the first 8 hex digits of its SHA-256.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:4])
}

// CurrentID is the id of the key that seals.
func (k *Keyring) CurrentID() string { return k.current }

// Prefix is how every value the key with this id seals begins, so a store can find the values
// another key sealed without opening them.
func Prefix(id string) string { return sealPrefix + id + ":" }

// Seal encrypts plaintext with the current key. additional binds the sealed value to its place
// (e.g. "cluster:prod"), so a value copied to another row does not open there.
func (k *Keyring) Seal(plaintext []byte, additional string) string {
	aead := k.aeads[k.current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("keyring: no randomness: " + err.Error())
	}
	out := aead.Seal(nonce, nonce, plaintext, []byte(additional))
	return Prefix(k.current) + base64.RawStdEncoding.EncodeToString(out)
}

// Open decrypts a value made by Seal with the same additional data. It returns ErrOpen for any
// value it cannot open, saying nothing of why.
func (k *Keyring) Open(sealed, additional string) ([]byte, error) {
	rest, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return nil, ErrOpen
	}
	id, body, ok := strings.Cut(rest, ":")
	aead := k.aeads[id]
	if !ok || aead == nil {
		return nil, ErrOpen
	}
	raw, err := base64.RawStdEncoding.DecodeString(body)
	if err != nil || len(raw) < aead.NonceSize() {
		return nil, ErrOpen
	}
	pt, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(additional))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// SealedBy returns the id of the key that sealed a value, or "" if it is not a sealed value.
func SealedBy(sealed string) string {
	rest, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, ":")
	return id
}

// ParseKeys reads keys from text: one base64 key per line, blank lines and '#' comments ignored.
func ParseKeys(text string) ([][]byte, error) {
	var keys [][]byte
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, err := base64.StdEncoding.DecodeString(line)
		if err != nil || len(key) != KeySize {
			return nil, fmt.Errorf("line %d: expected a base64-encoded %d-byte key", n+1, KeySize)
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, errors.New("no keys: expected one base64-encoded 32-byte key per line")
	}
	return keys, nil
}

// LoadOrCreate reads the keys in path, creating the file with one fresh key (mode 0600, parent
// directories 0700) when it does not exist. created reports whether it did.
func LoadOrCreate(path string) (keys [][]byte, created bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := NewKey()
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, false, fmt.Errorf("create key directory: %w", err)
		}
		line := base64.StdEncoding.EncodeToString(key) + "\n"
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, false, fmt.Errorf("create key file: %w", err)
		}
		if _, err := f.WriteString(line); err != nil {
			f.Close()
			return nil, false, fmt.Errorf("write key file: %w", err)
		}
		if err := f.Close(); err != nil {
			return nil, false, fmt.Errorf("write key file: %w", err)
		}
		return [][]byte{key}, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read key file: %w", err)
	}
	keys, err = ParseKeys(string(b))
	if err != nil {
		return nil, false, fmt.Errorf("key file %s: %w", path, err)
	}
	return keys, false, nil
}

// NewKey returns a fresh random key.
func NewKey() []byte {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		panic("keyring: no randomness: " + err.Error())
	}
	return key
}
