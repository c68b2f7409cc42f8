package sqlstore_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// trail makes the world and a few audited changes and returns how many events exist.
func (f *fixture) trail() int {
	f.world()
	return f.updates(3)
}

// updates changes project shop's description n times, has every event chained (so tampering
// by seq finds them) and returns how many events exist.
func (f *fixture) updates(n int) int {
	for i := 0; i < n; i++ {
		desc := fmt.Sprintf("v%d", i)
		_, err := f.projects.UpdateProject(f.admin, "shop", gatehouse.ProjectUpdate{Description: &desc})
		f.must(err)
	}
	f.must(f.db.ChainPending(f.t.Context()))
	return f.countRows(`SELECT COUNT(*) FROM audit_events`)
}

// chainedCols are the columns of a chained event, in their stored order.
const chainedCols = `(seq, at, actor, actor_kind, via, action, resource, project, app, environment,
	before_json, after_json, details, request_id, source_ip, prev_hash, hash)`

func (f *fixture) verify() *gatehouse.AuditReport {
	f.t.Helper()
	rep, err := f.audit.VerifyAudit(f.admin)
	f.must(err)
	return rep
}

func TestAuditVerifyFindsTampering(t *testing.T) {
	tamper := map[string]struct {
		sql    string
		seq    int64
		reason string
	}{
		"edit": {`UPDATE audit_events SET actor = 'mallory' WHERE seq = 5`, 5, "does not match its hash"},
		"edit details": {`UPDATE audit_events SET after_json = REPLACE(after_json, 'v1', 'v9') WHERE action = 'project.update' AND after_json LIKE '%v1%'`,
			-1, "does not match its hash"},
		"delete middle": {`DELETE FROM audit_events WHERE seq = 4`, 4, "event 4 is missing"},
		"delete tail":   {`DELETE FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events)`, -2, "events were deleted"},
		"insert at end": {`INSERT INTO audit_events ` + chainedCols + ` SELECT (SELECT MAX(seq) + 1 FROM audit_events), at, actor, actor_kind, via, action, resource, project, app, environment,
			before_json, after_json, details, request_id, source_ip, prev_hash, hash FROM audit_events WHERE seq = 3`, -3, "beyond the chain head"},
		"insert far": {`INSERT INTO audit_events ` + chainedCols + ` SELECT seq + 1000, at, actor, actor_kind, via, action, resource, project, app, environment,
			before_json, after_json, details, request_id, source_ip, prev_hash, hash FROM audit_events WHERE seq = 3`, 1003, "beyond the chain head"},
		"insert and move head": {`INSERT INTO audit_events ` + chainedCols + ` SELECT (SELECT MAX(seq) + 1 FROM audit_events), at, actor, actor_kind, via, action, resource, project, app, environment,
			before_json, after_json, details, request_id, source_ip, prev_hash, hash FROM audit_events WHERE seq = 3; UPDATE audit_head SET seq = seq + 1`, -3, "does not link"},
		"renumber after delete": {`DELETE FROM audit_events WHERE seq = 2; UPDATE audit_events SET seq = seq - 1 WHERE seq > 2`, 2, "does not link"},
		"replace head":          {`UPDATE audit_head SET hash = 'deadbeef'`, -2, "head's hash does not match"},
	}
	testdb.ForEach(t, func(t *testing.T, engine string) {
		for name, tc := range tamper {
			t.Run(name, func(t *testing.T) {
				f := newFixture(t, engine)
				n := f.trail()
				if rep := f.verify(); !rep.OK || rep.Events != int64(n) || rep.HeadSeq != int64(n) || len(rep.HeadHash) != 64 {
					t.Fatalf("clean trail does not verify: %+v", rep)
				}
				for _, stmt := range strings.Split(tc.sql, "; ") {
					f.exec(stmt)
				}
				rep := f.verify()
				if rep.OK || rep.Broken == nil || !strings.Contains(rep.Broken.Reason, tc.reason) {
					t.Fatalf("after %s: %+v (broken %+v), want reason %q", name, rep, rep.Broken, tc.reason)
				}
				want := tc.seq
				switch want {
				case -1:
					want = int64(f.countRows(`SELECT MIN(seq) FROM audit_events WHERE after_json LIKE '%v9%'`))
				case -2:
					want = int64(n)
				case -3:
					want = int64(n) + 1
				}
				if rep.Broken.Seq != want {
					t.Fatalf("broken at %d, want %d (%s)", rep.Broken.Seq, want, rep.Broken.Reason)
				}
			})
		}
	})
}

func TestAuditEventCommitsWithItsChange(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		f.world()
		before := f.countRows(`SELECT COUNT(*) FROM audit_events`)
		// Refused changes (conflict, invalid, forbidden) leave no event and no row.
		_, err := f.projects.CreateProject(f.admin, gatehouse.ProjectCreate{Name: "shop"})
		wantErr(t, err, gatehouse.KindConflict)
		_, err = f.pipes.SetPipeline(f.admin, "shop", "web", gatehouse.PipelineSet{Stages: []gatehouse.Stage{{Environment: "dev"}, {Environment: "nope"}}})
		wantErr(t, err, gatehouse.KindInvalid)
		if got := f.countRows(`SELECT COUNT(*) FROM audit_events`); got != before {
			t.Fatalf("refused changes wrote %d audit events", got-before)
		}
		if n := f.countRows(`SELECT COUNT(*) FROM pipelines`); n != 0 {
			t.Fatal("refused pipeline half-written")
		}
		// A change whose audit event cannot be written is rolled back: take the table away, then try.
		f.exec(`ALTER TABLE audit_events RENAME TO audit_events_away`)
		desc := "lost"
		_, err = f.projects.UpdateProject(f.admin, "shop", gatehouse.ProjectUpdate{Description: &desc})
		if err == nil {
			t.Fatal("update succeeded without an audit trail to write to")
		}
		f.exec(`ALTER TABLE audit_events_away RENAME TO audit_events`)
		p, err := f.projects.Project(f.admin, "shop")
		f.must(err)
		if p.Description == desc {
			t.Fatal("the change committed though its audit event did not")
		}
		if rep := f.verify(); !rep.OK {
			t.Fatalf("chain broken: %+v", rep.Broken)
		}
	})
}

func TestAuditChainUnderConcurrentWriters(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		f.world()
		for _, err := range concurrently(8, func(w int) error {
			for i := 0; i < 8; i++ {
				if _, err := f.projects.CreateProject(f.admin, gatehouse.ProjectCreate{Name: fmt.Sprintf("p-%d-%d", w, i)}); err != nil {
					return err
				}
			}
			return nil
		}) {
			if err != nil {
				t.Fatal(err)
			}
		}
		rep := f.verify()
		if !rep.OK || f.countRows(`SELECT COUNT(*) FROM audit_events WHERE action = 'project.create'`) != 65 {
			t.Fatalf("after concurrent writes: %+v %+v", rep, rep.Broken)
		}
	})
}

func TestAuditEventsRecordWhoWhatAndFilter(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		f.world()
		ana := f.person("ana", "admin@project:shop")
		start := f.clock.Now()
		f.clock.Advance(time.Minute)
		desc := "by ana"
		ctx := gatehouse.WithRequestInfo(ana, gatehouse.RequestInfo{RequestID: "req-42", SourceIP: "192.0.2.7"})
		_, err := f.apps.UpdateApp(ctx, "shop", "web", gatehouse.AppUpdate{Description: &desc})
		f.must(err)
		ev, err := f.audit.AuditEvents(f.admin, gatehouse.AuditFilter{Actor: "ana", Since: start.Add(time.Second)})
		f.must(err)
		if len(ev) != 1 {
			t.Fatalf("events = %d", len(ev))
		}
		e := ev[0]
		if e.Action != "app.update" || e.Project != "shop" || e.App != "web" || e.RequestID != "req-42" || e.SourceIP != "192.0.2.7" ||
			e.Via != gatehouse.AuthSession || !strings.Contains(string(e.Before), `"description":""`) || !strings.Contains(string(e.After), `"description":"by ana"`) {
			t.Fatalf("event = %+v before=%s after=%s", e, e.Before, e.After)
		}
		byPrefix, err := f.audit.AuditEvents(f.admin, gatehouse.AuditFilter{Action: "environment."})
		f.must(err)
		if len(byPrefix) != 3 {
			t.Fatalf("environment.* events = %d", len(byPrefix))
		}
		none, err := f.audit.AuditEvents(f.admin, gatehouse.AuditFilter{Until: start})
		f.must(err)
		if len(none) != 0 {
			t.Fatalf("events before the clock started: %d", len(none))
		}
		page, err := f.audit.AuditEvents(f.admin, gatehouse.AuditFilter{Limit: 2, AfterSeq: 2})
		f.must(err)
		if len(page) != 2 || page[0].Seq != 3 {
			t.Fatalf("page = %+v", page)
		}
	})
}

func TestMigrationsRunOnce(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		dsn := testdb.DSN(t, engine)
		keys := testdb.NewKeys(t)
		for i := 0; i < 2; i++ {
			db, err := openDSN(t, dsn, keys)
			if err != nil {
				t.Fatalf("open %d: %v", i, err)
			}
			db.Close()
		}
	})
}
