package sqlstore_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/keyring"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// cutTail deletes the events after k and points the chain head at event k, as an attacker with
// database access but without the audit key would (finding 9 of issue 11).
func (f *fixture) cutTail(k int) {
	f.t.Helper()
	f.exec(`DELETE FROM audit_events WHERE seq > $1`, k)
	f.exec(`UPDATE audit_head SET seq = $1, hash = (SELECT hash FROM audit_events WHERE seq = $1)`, k)
}

// wantBroken fails unless the report is broken at seq with a reason holding every fragment.
func wantBroken(t *testing.T, rep *gatehouse.AuditReport, seq int64, fragments ...string) {
	t.Helper()
	if rep.OK || rep.Broken == nil || rep.Broken.Seq != seq {
		t.Fatalf("report %+v (broken %+v), want broken at event %d", rep, rep.Broken, seq)
	}
	for _, fr := range fragments {
		if !strings.Contains(rep.Broken.Reason, fr) {
			t.Fatalf("reason %q does not say %q", rep.Broken.Reason, fr)
		}
	}
}

func TestAuditVerifyCatchesACutTail(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		n := f.trail()
		k := n - 3
		f.cutTail(k)
		wantBroken(t, f.verify(), int64(k), "the chain head was replaced: its seal does not match event")
		// The next change extends the cut chain but must not seal it: the break stays visible.
		f.updates(1)
		wantBroken(t, f.verify(), int64(k+1), "its seal does not match")
	})
}

// rechain rewrites the trail as someone holding the audit key could: it keeps the events keep
// accepts, renumbers and re-hashes them, points the head at the last and gives it mac.
func (f *fixture) rechain(key []byte, keep func(e *gatehouse.AuditEvent) bool, mac func(seq int64, hash string) string) {
	f.t.Helper()
	events, err := f.audit.AuditEvents(f.admin, gatehouse.AuditFilter{Limit: 10000})
	f.must(err)
	f.exec(`DELETE FROM audit_events`)
	null := func(m json.RawMessage) sql.NullString { return sql.NullString{String: string(m), Valid: len(m) > 0} }
	var seq int64
	prev := ""
	for _, e := range events {
		if !keep(e) {
			continue
		}
		seq++
		e.Seq, e.PrevHash = seq, prev
		e.Hash = gatehouse.ChainHash(key, e)
		prev = e.Hash
		f.exec(`INSERT INTO audit_events (seq, at, actor, actor_kind, via, action, resource, project, app, environment,
			before_json, after_json, details, request_id, source_ip, prev_hash, hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
			e.Seq, e.Time.UnixMicro(), e.Actor, e.ActorKind, e.Via, e.Action, e.Resource, e.Project, e.App, e.Env,
			null(e.Before), null(e.After), null(e.Details), e.RequestID, e.SourceIP, e.PrevHash, e.Hash)
	}
	f.exec(`UPDATE audit_head SET seq = $1, hash = $2, mac = $3`, seq, prev, mac(seq, prev))
}

func all(*gatehouse.AuditEvent) bool { return true }

func unsealed(int64, string) string { return "" }

// headRow is the audit_head row as stored.
type headRow struct {
	seq       int64
	hash, mac string
}

func (f *fixture) head() headRow {
	f.t.Helper()
	var h headRow
	f.must(f.db.Raw().QueryRow(`SELECT seq, hash, mac FROM audit_head`).Scan(&h.seq, &h.hash, &h.mac))
	return h
}

func TestAuditHeadOfAnOlderTrailIsSealedOnOpen(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		key := keyring.NewKey()
		f, opts := newFixtureWith(t, engine, key)
		n := f.trail()
		// The trail as the previous version left it: no audit.seal event, a head without a seal.
		f.rechain(opts.AuditKey, func(e *gatehouse.AuditEvent) bool { return e.Action != "audit.seal" }, unsealed)
		wantBroken(t, f.verify(), int64(n-1), "the chain head was replaced: it has no seal")

		// The first start of this version seals it, and says so in the trail.
		audit := sqlstore.NewAuditService(reopen(t, opts, key))
		rep, err := audit.VerifyAudit(f.admin)
		f.must(err)
		if !rep.OK || rep.Events != int64(n) {
			t.Fatalf("after sealing: %+v %+v", rep, rep.Broken)
		}
		seals, err := audit.AuditEvents(f.admin, gatehouse.AuditFilter{Action: "audit.seal"})
		f.must(err)
		if len(seals) != 1 || seals[0].Seq != int64(n) || seals[0].Actor != "system" || !strings.Contains(string(seals[0].Details), fmt.Sprintf(`"seq":%d`, n-1)) {
			t.Fatalf("seal events = %+v", seals)
		}

		// Once sealed, never again: a seal blanked later, the tail cut above the seal event or
		// not, stays reported across restarts.
		for _, cut := range []bool{false, true} {
			if cut {
				f.cutTail(n)
			}
			f.exec(`UPDATE audit_head SET mac = ''`)
			audit = sqlstore.NewAuditService(reopen(t, opts, key))
			rep, err = audit.VerifyAudit(f.admin)
			f.must(err)
			wantBroken(t, rep, rep.HeadSeq, "the chain head was replaced: it has no seal")
			if f.head().mac != "" {
				t.Fatal("a head that lost its seal was sealed again")
			}
		}
	})
}

func TestAuditHeadOfABrokenOlderTrailStaysUnsealed(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		key := keyring.NewKey()
		f, opts := newFixtureWith(t, engine, key)
		f.trail()
		f.rechain(opts.AuditKey, func(e *gatehouse.AuditEvent) bool { return e.Action != "audit.seal" }, unsealed)
		f.exec(`UPDATE audit_events SET actor = 'mallory' WHERE seq = 3`)
		audit := sqlstore.NewAuditService(reopen(t, opts, key))
		rep, err := audit.VerifyAudit(f.admin)
		f.must(err)
		wantBroken(t, rep, 3, "does not match its hash")
		if f.head().mac != "" || f.countRows(`SELECT COUNT(*) FROM audit_events WHERE action = 'audit.seal'`) != 0 {
			t.Fatal("the store sealed a trail that does not verify")
		}
	})
}

func TestAuditCheckpointHeldByTheChain(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		key := keyring.NewKey()
		f, opts := newFixtureWith(t, engine, key)
		n := f.trail()
		cp, err := f.audit.CheckpointAudit(f.admin)
		f.must(err)
		// The checkpoint is the head after its own audit.checkpoint event, signed.
		ev, err := f.audit.AuditEvents(f.admin, gatehouse.AuditFilter{Action: "audit.checkpoint"})
		f.must(err)
		if cp.Seq != int64(n+1) || len(ev) != 1 || ev[0].Seq != cp.Seq || ev[0].Hash != cp.Hash || !ev[0].Time.Equal(cp.Time) ||
			ev[0].Actor != "admin" || cp.Check(opts.AuditKey) != nil {
			t.Fatalf("checkpoint %+v, events %+v", cp, ev)
		}
		f.updates(2)
		rep, err := f.audit.VerifyAuditCheckpoint(f.admin, *cp)
		f.must(err)
		if !rep.OK || rep.Checkpoint == nil || rep.Checkpoint.Seq != cp.Seq || rep.HeadSeq <= cp.Seq {
			t.Fatalf("verify with the checkpoint: %+v %+v", rep, rep.Broken)
		}
		// Only who administers the system takes or checks checkpoints; a refusal leaves no trace.
		ana := f.person("ana", "admin@project:shop")
		before := f.countRows(`SELECT COUNT(*) FROM audit_events`)
		_, err = f.audit.CheckpointAudit(ana)
		wantErr(t, err, gatehouse.KindForbidden)
		_, err = f.audit.VerifyAuditCheckpoint(ana, gatehouse.AuditCheckpoint{})
		wantErr(t, err, gatehouse.KindForbidden)
		if f.countRows(`SELECT COUNT(*) FROM audit_events`) != before {
			t.Fatal("a refused checkpoint wrote an event")
		}
	})
}

func TestAuditCheckpointEditedOrForeignIsRefused(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		f.trail()
		cp, err := f.audit.CheckpointAudit(f.admin)
		f.must(err)
		earlier := *cp
		earlier.Seq--
		foreign := gatehouse.NewAuditCheckpoint(keyring.NewKey(), cp.Seq, cp.Hash, cp.Time)
		for name, c := range map[string]gatehouse.AuditCheckpoint{"edited": earlier, "foreign": foreign, "empty": {}} {
			_, err := f.audit.VerifyAuditCheckpoint(f.admin, c)
			if e, ok := err.(*gatehouse.Error); !ok || e.Kind != gatehouse.KindInvalid || e.Field != "checkpoint" {
				t.Errorf("%s checkpoint: %v, want invalid naming checkpoint", name, err)
			}
		}
	})
}

// TestAuditCheckpointCatchesWhatTheSealCannot: an attacker holding the audit key can cut the
// tail and seal the shorter head, or rewrite the history; one who kept an older head row can
// cut back to it. The chain then verifies, but a checkpoint kept elsewhere does not.
func TestAuditCheckpointCatchesWhatTheSealCannot(t *testing.T) {
	attacks := map[string]struct {
		attack func(f *fixture, key []byte, cp *gatehouse.AuditCheckpoint, before headRow)
		reason string // %[1]d is the checkpoint's event
	}{
		"older head put back": {func(f *fixture, _ []byte, _ *gatehouse.AuditCheckpoint, before headRow) {
			// The head as a backup taken before the checkpoint holds it; no key needed.
			f.exec(`DELETE FROM audit_events WHERE seq > $1`, before.seq)
			f.exec(`UPDATE audit_head SET seq = $1, hash = $2, mac = $3`, before.seq, before.hash, before.mac)
		}, "before the checkpoint of 2026-11-27T10:00:00Z (event %[1]d): events were deleted"},
		"tail cut below the checkpoint": {func(f *fixture, key []byte, cp *gatehouse.AuditCheckpoint, _ headRow) {
			k := int(cp.Seq) - 2
			f.cutTail(k)
			var hash string
			f.must(f.db.Raw().QueryRow(`SELECT hash FROM audit_events WHERE seq = $1`, k).Scan(&hash))
			f.exec(`UPDATE audit_head SET mac = $1`, gatehouse.HeadSeal(key, int64(k), hash))
		}, "before the checkpoint of 2026-11-27T10:00:00Z (event %[1]d): events were deleted"},
		"history rewritten": {func(f *fixture, key []byte, _ *gatehouse.AuditCheckpoint, _ headRow) {
			f.rechain(key, func(e *gatehouse.AuditEvent) bool { return e.Seq != 3 }, func(seq int64, hash string) string { return gatehouse.HeadSeal(key, seq, hash) })
		}, "event %[1]d does not match the checkpoint of 2026-11-27T10:00:00Z (event %[1]d): the history up to it was rewritten"},
	}
	testdb.ForEach(t, func(t *testing.T, engine string) {
		for name, tc := range attacks {
			t.Run(name, func(t *testing.T) {
				key := keyring.NewKey()
				f, opts := newFixtureWith(t, engine, key)
				f.trail()
				before := f.head()
				cp, err := f.audit.CheckpointAudit(f.admin)
				f.must(err)
				f.updates(3)
				tc.attack(f, opts.AuditKey, cp, before)
				if rep := f.verify(); !rep.OK {
					t.Fatalf("the attack with the key left a chain that does not verify: %+v", rep.Broken)
				}
				rep, err := f.audit.VerifyAuditCheckpoint(f.admin, *cp)
				f.must(err)
				wantBroken(t, rep, cp.Seq, fmt.Sprintf(tc.reason, cp.Seq))
			})
		}
	})
}

func TestAuditCheckpointOfABrokenTrailIsRefused(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		n := f.trail()
		f.cutTail(n - 2)
		_, err := f.audit.CheckpointAudit(f.admin)
		wantErr(t, err, gatehouse.KindPreconditionFailed, "the audit trail is broken at event", "seal does not match", "a checkpoint would vouch for it")
		if f.countRows(`SELECT COUNT(*) FROM audit_events WHERE action = 'audit.checkpoint'`) != 0 {
			t.Fatal("a refused checkpoint wrote its event")
		}
	})
}
