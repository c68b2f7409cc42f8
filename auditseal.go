package gatehouse

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// The labels that separate what the audit key signs. Every MAC starts with its label, so a head
// seal can never pass for a checkpoint, nor either for a chain hash (whose input starts with a
// hex hash or "{", never with a length prefix).
const (
	headSealLabel   = "gatehouse/audit-head/v1"
	checkpointLabel = "gatehouse/audit-checkpoint/v1"
	pendingLabel    = "gatehouse/audit-pending/v1"
)

// auditMAC is HMAC-SHA256 over the label and the fields, each prefixed with its length, so no
// two different inputs encode to the same bytes.
func auditMAC(key []byte, label string, fields ...[]byte) string {
	m := hmac.New(sha256.New, key)
	for _, f := range append([][]byte{[]byte(label)}, fields...) {
		m.Write(binary.BigEndian.AppendUint64(nil, uint64(len(f))))
		m.Write(f)
	}
	return hex.EncodeToString(m.Sum(nil))
}

func seqBytes(seq int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(seq)) }

// HeadSeal is the MAC of the chain head (seq, hash) under the audit key. The head names the last
// event; without a seal anyone who can write the database could delete the events after any
// event K and point the head at K, and the shorter chain would verify. A seal stays valid for
// its head forever, so putting back a head the database once held (copied from an old backup)
// is not caught by it: that takes a checkpoint.
func HeadSeal(key []byte, seq int64, hash string) string {
	return auditMAC(key, headSealLabel, seqBytes(seq), []byte(hash))
}

// HeadSealed reports, in constant time, whether mac seals the head (seq, hash) under key.
func HeadSealed(key []byte, seq int64, hash, mac string) bool {
	return hmac.Equal([]byte(mac), []byte(HeadSeal(key, seq, hash)))
}

// PendingSeal is the MAC under the audit key of an event not chained yet: all its fields but
// Seq, PrevHash and Hash. The store writes it with the event and chains only events whose seal
// matches, so whoever can write the database but lacks the key cannot have an event of theirs
// (or an edited one) chained, as they could not append one to the chain before events were
// queued. The store clears it once the event is chained, so a chained event cannot be queued
// again as a copy.
func PendingSeal(key []byte, e *AuditEvent) string {
	return auditMAC(key, pendingLabel, hashedJSON(e, 0))
}

// PendingSealed reports, in constant time, whether mac is the pending seal of e under key.
func PendingSealed(key []byte, e *AuditEvent, mac string) bool {
	return hmac.Equal([]byte(mac), []byte(PendingSeal(key, e)))
}

// AuditCheckpoint is a signed chain head, to be kept outside the database (a ticket, a WORM
// bucket). Later, verification proves the trail still holds event Seq with hash Hash: since
// every hash covers the one before, that vouches for the whole history up to it.
type AuditCheckpoint struct {
	Seq  int64     `json:"seq"`
	Hash string    `json:"hash"`
	Time time.Time `json:"time"`
	MAC  string    `json:"mac"`
}

// NewAuditCheckpoint signs the head (seq, hash) at time t (kept to microseconds, UTC).
func NewAuditCheckpoint(key []byte, seq int64, hash string, t time.Time) AuditCheckpoint {
	t = AuditTime(t)
	return AuditCheckpoint{Seq: seq, Hash: hash, Time: t, MAC: checkpointMAC(key, seq, hash, t)}
}

func checkpointMAC(key []byte, seq int64, hash string, t time.Time) string {
	return auditMAC(key, checkpointLabel, seqBytes(seq), []byte(hash), seqBytes(AuditTime(t).UnixMicro()))
}

// Check returns nil when the checkpoint is well formed and was signed with key: it was made by
// `gatehouse audit checkpoint` of this trail and not edited since. Errors: invalid, naming
// checkpoint.
func (c AuditCheckpoint) Check(key []byte) error {
	if c.Seq < 1 || !isHash(c.Hash) || c.Time.IsZero() || !isHash(c.MAC) {
		return Invalidf("checkpoint", "expected what `gatehouse audit checkpoint` printed: seq (1 or more), hash, time and mac")
	}
	if !hmac.Equal([]byte(c.MAC), []byte(checkpointMAC(key, c.Seq, c.Hash, c.Time))) {
		return Invalidf("checkpoint", "its seal does not match: it was edited, or made by a server with another audit key")
	}
	return nil
}

// isHash reports whether s is a SHA-256 sum in lower-case hex, as the chain writes them.
func isHash(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}

// AuditVerify is what verification may be asked to prove besides the chain itself.
type AuditVerify struct {
	// Checkpoint, when set, must still be in the chain.
	Checkpoint *AuditCheckpoint `json:"checkpoint,omitempty"`
}
