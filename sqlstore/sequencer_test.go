package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/keyring"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// replicas opens a fixture and a second store on its database, as two servers share one.
func replicas(t *testing.T, engine string) (*fixture, *sqlstore.DB) {
	key := keyring.NewKey()
	f, opts := newFixtureWith(t, engine, key)
	return f, reopen(t, opts, key)
}

// pending counts the events not chained yet, as the database holds them.
func (f *fixture) pending() int {
	return f.countRows(`SELECT COUNT(*) FROM audit_events WHERE seq IS NULL`)
}

// TestAuditChainAcrossReplicas: audited writes from two servers at once, each with its own
// sequencer, end in one gapless chain holding every event exactly once.
func TestAuditChainAcrossReplicas(t *testing.T) {
	f, other := replicas(t, "postgres")
	stores := []*sqlstore.ProjectService{f.projects, sqlstore.NewProjectService(other)}
	const writers, each = 16, 12
	for _, err := range concurrently(writers, func(w int) error {
		for i := range each {
			if _, err := stores[w%2].CreateProject(f.admin, gatehouse.ProjectCreate{Name: fmt.Sprintf("p-%d-%d", w, i)}); err != nil {
				return err
			}
		}
		return nil
	}) {
		f.must(err)
	}
	rep, err := sqlstore.NewAuditService(other).VerifyAudit(f.admin)
	f.must(err)
	stored := f.countRows(`SELECT COUNT(*) FROM audit_events`)
	if !rep.OK || rep.Pending != 0 || rep.Events != int64(stored) || rep.HeadSeq != int64(stored) {
		t.Fatalf("after writes from two servers: %+v (broken %+v), %d events stored", rep, rep.Broken, stored)
	}
	if n := f.countRows(`SELECT COUNT(DISTINCT resource) FROM audit_events WHERE action = 'project.create' AND seq IS NOT NULL`); n != writers*each {
		t.Fatalf("%d projects' creations chained, want %d", n, writers*each)
	}
}

// TestAuditEventsOfADeadReplicaAreChained: a server that committed events and died before
// chaining them leaves them queued; another server's sweep chains them, unasked.
func TestAuditEventsOfADeadReplicaAreChained(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f, other := replicas(t, engine)
		f.world()
		f.must(f.db.ChainPending(t.Context()))
		sqlstore.StopSequencer(f.db)
		release := sqlstore.HoldSequencer(other)
		desc := "written by a server that then died"
		for range 3 {
			_, err := f.projects.UpdateProject(f.admin, "shop", gatehouse.ProjectUpdate{Description: &desc})
			f.must(err)
		}
		if n := f.pending(); n != 3 {
			t.Fatalf("%d events queued, want 3", n)
		}
		release()
		// The survivor is not told: only its periodic sweep can find them.
		for deadline := time.Now().Add(10 * time.Second); f.pending() != 0; {
			if time.Now().After(deadline) {
				t.Fatalf("the other server did not chain the dead one's events: %d still queued", f.pending())
			}
			time.Sleep(20 * time.Millisecond)
		}
		rep, err := sqlstore.NewAuditService(other).VerifyAudit(f.admin)
		f.must(err)
		if !rep.OK || rep.Pending != 0 || rep.Events != int64(f.countRows(`SELECT COUNT(*) FROM audit_events`)) {
			t.Fatalf("after the sweep: %+v (broken %+v)", rep, rep.Broken)
		}
	})
}

// TestAuditVerifyReportsPendingEvents: while the sequencer is held back, verify vouches for the
// chain as far as it goes and says how many events wait and for how long.
func TestAuditVerifyReportsPendingEvents(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		n := f.trail()
		release := sqlstore.HoldSequencer(f.db)
		f.clock.Advance(time.Minute)
		desc := "queued"
		for range 3 {
			_, err := f.projects.UpdateProject(f.admin, "shop", gatehouse.ProjectUpdate{Description: &desc})
			f.must(err)
			f.clock.Advance(15 * time.Second)
		}
		rep := f.verify()
		if !rep.OK || rep.Events != int64(n) || rep.Pending != 3 || rep.PendingAgeSeconds != 45 {
			t.Fatalf("with the sequencer held: %+v (broken %+v), want %d chained, 3 pending for 45s", rep, rep.Broken, n)
		}
		release()
		rep = f.verify()
		if !rep.OK || rep.Events != int64(n+3) || rep.Pending != 0 || rep.PendingAgeSeconds != 0 {
			t.Fatalf("after release: %+v (broken %+v)", rep, rep.Broken)
		}
	})
}

// TestAuditWritesDoNotWaitForTheHead: with the chain head locked by another transaction (a
// sequencer stuck on another server), audited writes still commit at once.
func TestAuditWritesDoNotWaitForTheHead(t *testing.T) {
	f := newFixture(t, "postgres")
	f.world()
	n := f.updates(0)
	lock, err := f.db.Raw().BeginTx(t.Context(), nil)
	f.must(err)
	defer lock.Rollback()
	_, err = lock.Exec(`SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE`)
	f.must(err)
	ctx, cancel := context.WithTimeout(f.admin, 5*time.Second)
	defer cancel()
	desc := "while the head is locked"
	if _, err := f.projects.UpdateProject(ctx, "shop", gatehouse.ProjectUpdate{Description: &desc}); err != nil {
		t.Fatalf("an audited write waited for the chain head: %v", err)
	}
	if rep := f.verify(); !rep.OK || rep.Events != int64(n) || rep.Pending != 1 {
		t.Fatalf("with the head locked: %+v (broken %+v), want %d chained and 1 pending", rep, rep.Broken, n)
	}
	f.must(lock.Rollback())
	if rep := f.verify(); !rep.OK || rep.Events != int64(n+1) || rep.Pending != 0 {
		t.Fatalf("after the lock: %+v (broken %+v)", rep, rep.Broken)
	}
}

// TestAuditQueueTampering: whoever can write the database but lacks the audit key cannot get
// an event of theirs chained through the queue, nor an edited or replayed one; verify says so
// and the sequencer chains the genuine events around them.
func TestAuditQueueTampering(t *testing.T) {
	tamper := map[string]string{
		"queue a forged event": `INSERT INTO audit_events (at, actor, actor_kind, via, action, resource, seal)
			VALUES (1, 'mallory', 'human', 'session', 'project.delete', 'project/shop', 'deadbeef')`,
		"queue a chained event again": `INSERT INTO audit_events (at, actor, actor_kind, via, action, resource, project, app, environment,
			before_json, after_json, details, request_id, source_ip, seal)
			SELECT at, actor, actor_kind, via, action, resource, project, app, environment, before_json, after_json, details,
			request_id, source_ip, seal FROM audit_events WHERE seq = 3`,
		"edit a queued event": `UPDATE audit_events SET actor = 'mallory' WHERE seq IS NULL`,
	}
	testdb.ForEach(t, func(t *testing.T, engine string) {
		for name, stmt := range tamper {
			t.Run(name, func(t *testing.T) {
				f := newFixture(t, engine)
				n := f.trail()
				release := sqlstore.HoldSequencer(f.db)
				desc := "queued"
				_, err := f.projects.UpdateProject(f.admin, "shop", gatehouse.ProjectUpdate{Description: &desc})
				f.must(err)
				f.exec(stmt)
				release()
				f.updates(1)
				rep := f.verify()
				if rep.OK || rep.Broken == nil || !strings.Contains(rep.Broken.Reason, "does not match its seal: it was queued or edited without the audit key") {
					t.Fatalf("after %s: %+v (broken %+v)", name, rep, rep.Broken)
				}
				if rep.Pending != 1 || f.pending() != 1 || rep.Events < int64(n)+1 {
					t.Fatalf("%d pending (%d stored), %d chained: want the tampered one left out and the rest chained", rep.Pending, f.pending(), rep.Events)
				}
			})
		}
	})
}
