package gatehouse

import (
	"encoding/json"
	"fmt"
)

// Masked is how every secret value is shown: in API responses, logs, errors, audit events and
// diffs.
const Masked = "•••"

// Secret holds a secret value taken from input (a kubeconfig, a password, a config secret). It
// decodes from JSON like a string, but every way of printing or encoding it shows Masked, so a
// secret can travel through structs that are logged or returned without leaking. Reveal is the
// one way to read it, and only the store (to hash or encrypt) calls it.
type Secret struct {
	v    string
	send bool
}

// NewSecret wraps a value.
func NewSecret(v string) Secret { return Secret{v: v} }

// OutgoingSecret wraps a value that a client sends to the server: it is the only kind of Secret
// whose JSON encoding is the value itself. Printing it still shows Masked. The server never
// makes one, so nothing it answers can carry a secret.
func OutgoingSecret(v string) Secret { return Secret{v: v, send: true} }

// Reveal returns the secret value.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v == "" }

// String shows Masked (or "" for an empty secret).
func (s Secret) String() string {
	if s.v == "" {
		return ""
	}
	return Masked
}

// GoString shows Masked, so %#v does not leak either.
func (s Secret) GoString() string { return s.String() }

// Format shows Masked for every verb.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// MarshalJSON encodes Masked, never the value (except for an OutgoingSecret).
func (s Secret) MarshalJSON() ([]byte, error) {
	if s.send {
		return json.Marshal(s.v)
	}
	return json.Marshal(s.String())
}

// UnmarshalJSON reads the value from a JSON string. A decoded secret is never outgoing.
func (s *Secret) UnmarshalJSON(b []byte) error {
	s.send = false
	return json.Unmarshal(b, &s.v)
}
