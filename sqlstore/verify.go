package sqlstore

import (
	"context"
	"fmt"

	"github.com/gatehousehq/gatehouse"
)

const verifyPage = 1000

// verifyChain walks every event in sequence order and reports the first broken link. Because
// each hash covers the sequence number and the previous hash under a key the database does not
// hold, editing, inserting or deleting rows (or renumbering them) breaks a link that cannot be
// mended without the key.
func verifyChain(ctx context.Context, q querier, key []byte) (*gatehouse.AuditReport, error) {
	rep := &gatehouse.AuditReport{}
	if err := q.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&rep.HeadSeq, &rep.HeadHash); err != nil {
		return nil, fmt.Errorf("audit head: %w", err)
	}
	broken := func(seq int64, format string, args ...any) (*gatehouse.AuditReport, error) {
		rep.Broken = &gatehouse.AuditBreak{Seq: seq, Reason: fmt.Sprintf(format, args...)}
		return rep, nil
	}
	prevHash, next := "", int64(1)
	for {
		page, err := queryAll(ctx, q, scanAuditEvent, `SELECT `+auditColumns+` FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2`, next, verifyPage)
		if err != nil {
			return nil, fmt.Errorf("audit events: %w", err)
		}
		for _, e := range page {
			switch {
			case e.Seq > rep.HeadSeq:
				return broken(e.Seq, "event %d lies beyond the chain head (event %d): it was inserted", e.Seq, rep.HeadSeq)
			case e.Seq != next:
				return broken(next, "event %d is missing (the next stored event is %d): events were deleted", next, e.Seq)
			case e.PrevHash != prevHash:
				return broken(e.Seq, "event %d does not link to event %d: an event before it was deleted, inserted or replaced", e.Seq, e.Seq-1)
			case gatehouse.ChainHash(key, e) != e.Hash:
				return broken(e.Seq, "event %d does not match its hash: it was edited, or inserted without the audit key", e.Seq)
			}
			rep.Events++
			prevHash, next = e.Hash, e.Seq+1
		}
		if len(page) < verifyPage {
			break
		}
	}
	last := next - 1
	switch {
	case last < rep.HeadSeq:
		return broken(next, "the chain head names event %d but the trail ends at event %d: events were deleted", rep.HeadSeq, last)
	case prevHash != rep.HeadHash:
		return broken(last, "the chain head's hash does not match event %d: the head or the event was replaced", last)
	}
	rep.OK = true
	return rep, nil
}
