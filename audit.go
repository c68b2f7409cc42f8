package gatehouse

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// AuditEvent is one row of the audit trail. Before and After are JSON snapshots of the resource
// (secrets masked); Details carries what the action adds (a comment, a digest). Events form a
// hash chain: Hash = HMAC-SHA256(key, PrevHash || canonical JSON of the event without hashes),
// with a key that lives outside the database.
type AuditEvent struct {
	Seq       int64           `json:"seq"`
	Time      time.Time       `json:"time"`
	Actor     string          `json:"actor"`
	ActorKind UserKind        `json:"actor_kind"`
	Via       AuthMethod      `json:"via"`
	Action    string          `json:"action"`
	Resource  string          `json:"resource"`
	Project   string          `json:"project,omitempty"`
	App       string          `json:"app,omitempty"`
	Env       string          `json:"environment,omitempty"`
	Before    json.RawMessage `json:"before,omitempty"`
	After     json.RawMessage `json:"after,omitempty"`
	Details   json.RawMessage `json:"details,omitempty"`
	RequestID string          `json:"request_id,omitempty"`
	SourceIP  string          `json:"source_ip,omitempty"`
	PrevHash  string          `json:"prev_hash"`
	Hash      string          `json:"hash"`
}

// hashedEvent fixes the field order and forms that the chain hash covers.
type hashedEvent struct {
	Seq       int64           `json:"seq"`
	Time      string          `json:"time"`
	Actor     string          `json:"actor"`
	ActorKind UserKind        `json:"actor_kind"`
	Via       AuthMethod      `json:"via"`
	Action    string          `json:"action"`
	Resource  string          `json:"resource"`
	Project   string          `json:"project"`
	App       string          `json:"app"`
	Env       string          `json:"environment"`
	Before    json.RawMessage `json:"before"`
	After     json.RawMessage `json:"after"`
	Details   json.RawMessage `json:"details"`
	RequestID string          `json:"request_id"`
	SourceIP  string          `json:"source_ip"`
}

// AuditTime rounds t to what both databases store exactly (microseconds, UTC); events carry
// times in this form so a stored event hashes as it did when written.
func AuditTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// ChainHash computes the event's link in the chain from its fields and PrevHash. Before, After
// and Details must already be canonical JSON (see CanonicalJSON), as the store keeps them.
func ChainHash(key []byte, e *AuditEvent) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(e.PrevHash))
	mac.Write(hashedJSON(e, e.Seq))
	return hex.EncodeToString(mac.Sum(nil))
}

// hashedJSON is the event's fields in the form the chain hash covers, with seq for its Seq.
func hashedJSON(e *AuditEvent, seq int64) []byte {
	raw := func(m json.RawMessage) json.RawMessage {
		if len(m) == 0 {
			return json.RawMessage("null")
		}
		return m
	}
	h := hashedEvent{
		Seq: seq, Time: AuditTime(e.Time).Format(time.RFC3339Nano), Actor: e.Actor, ActorKind: e.ActorKind,
		Via: e.Via, Action: e.Action, Resource: e.Resource, Project: e.Project, App: e.App, Env: e.Env,
		Before: raw(e.Before), After: raw(e.After), Details: raw(e.Details), RequestID: e.RequestID, SourceIP: e.SourceIP,
	}
	b, err := json.Marshal(h)
	if err != nil {
		// Only invalid RawMessage can fail, and the store only keeps canonical JSON.
		b = []byte(err.Error())
	}
	return b
}

// CanonicalJSON encodes v with object keys sorted and no insignificant space, so equal values
// always give equal bytes. nil gives nil.
func CanonicalJSON(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var generic any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&generic); err != nil {
		return nil, err
	}
	if generic == nil {
		return nil, nil
	}
	return json.Marshal(generic)
}

// AuditFilter selects audit events. Zero fields do not filter.
type AuditFilter struct {
	Since    time.Time
	Until    time.Time
	Actor    string
	Project  string
	App      string
	Env      string
	Action   string // exact action, or a prefix ending in "." ("project.")
	AfterSeq int64  // events after this sequence number (for paging)
	Limit    int    // default 100, at most 10000
}

// AuditBreak is where verification found the chain broken. Seq is 0 when the break is an
// event waiting to be chained (it has no place in the chain yet; the reason names its id).
type AuditBreak struct {
	Seq    int64  `json:"seq"`
	Reason string `json:"reason"`
}

// AuditReport is the result of verifying the chain.
type AuditReport struct {
	OK       bool        `json:"ok"`
	Events   int64       `json:"events"`
	HeadSeq  int64       `json:"head_seq"`
	HeadHash string      `json:"head_hash"`
	Broken   *AuditBreak `json:"broken,omitempty"`
	// Checkpoint is the checkpoint the chain was shown to hold, when one was given and held.
	Checkpoint *AuditCheckpoint `json:"checkpoint,omitempty"`
	// Pending counts the events committed but not chained yet: how far behind the sequencer
	// is. They are not part of Events and their place in the chain is not decided yet; a
	// pending event whose seal does not match (forged or edited) breaks the report instead.
	Pending int64 `json:"pending"`
	// PendingAgeSeconds is how long ago the oldest pending event was written (0 with none).
	PendingAgeSeconds float64 `json:"pending_age_seconds"`
}

// AuditService reads and verifies the audit trail. Writing happens inside every other
// service's transactions.
type AuditService interface {
	// AuditEvents returns events matching the filter in sequence order. Errors: forbidden
	// without view-audit on the filter's project (or on the system, with no project).
	AuditEvents(ctx context.Context, f AuditFilter) ([]*AuditEvent, error)
	// VerifyAudit chains what is pending (waiting a short while at most), walks the whole chain
	// and reports the first broken link: an edited event (its hash no longer matches), an
	// inserted one (likewise, without the key), or a deleted one (a gap in the sequence, a head
	// that names a later event, or a head whose seal does not match it: the tail was cut). Events
	// still pending are counted with the age of the oldest; one whose seal does not match (queued
	// or edited without the key) is reported broken. Errors: forbidden without administer on
	// the system.
	VerifyAudit(ctx context.Context) (*AuditReport, error)
	// CheckpointAudit appends an audit.checkpoint event and returns the new head, signed, to be
	// kept outside the database. Errors: forbidden without administer on the system;
	// precondition failed when the chain does not verify (a checkpoint would vouch for it).
	CheckpointAudit(ctx context.Context) (*AuditCheckpoint, error)
	// VerifyAuditCheckpoint is VerifyAudit that also proves the chain still holds the
	// checkpoint: its event, with its hash. A trail cut below the checkpoint or a history
	// rewritten up to it is reported broken at the checkpoint's event, with a reason naming the
	// checkpoint. Errors: invalid (naming checkpoint) when it is malformed, edited or made with
	// another audit key; forbidden without administer on the system.
	VerifyAuditCheckpoint(ctx context.Context, cp AuditCheckpoint) (*AuditReport, error)
}
