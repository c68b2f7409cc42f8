package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// auditTrail is a SQLite store holding a real trail, with a checkpoint in its middle, and what
// the database held along the way.
type auditTrail struct {
	db       *sqlstore.DB
	audit    *sqlstore.AuditService
	ctx      context.Context
	pristine chainState
	heads    []headRow // the head after each commit, oldest first
	cp       gatehouse.AuditCheckpoint
}

// newAuditTrail makes projects, a cluster, environments and an app, and changes them, as people
// from some address would: events of every shape, with snapshots before and after.
func newAuditTrail(tb testing.TB) *auditTrail {
	tb.Helper()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	var clock sync.Mutex // the audit sequencer reads the clock too, from its own goroutine
	db := testdb.Open(tb, "sqlite", func(o *sqlstore.Options) {
		o.Now = func() time.Time {
			clock.Lock()
			defer clock.Unlock()
			now = now.Add(1234567 * time.Microsecond)
			return now
		}
	})
	tr := &auditTrail{db: db, audit: sqlstore.NewAuditService(db)}
	tr.ctx = gatehouse.WithRequestInfo(gatehouse.WithActor(context.Background(), gatehouse.SystemActor()),
		gatehouse.RequestInfo{RequestID: "req-7", SourceIP: "192.0.2.7"})
	must := func(_ any, err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		tr.heads = append(tr.heads, tr.read(tb).head)
	}
	tr.heads = append(tr.heads, tr.read(tb).head) // the seal made at open
	projects, envs, apps := sqlstore.NewProjectService(db), sqlstore.NewEnvironmentService(db), sqlstore.NewAppService(db)
	must(projects.CreateProject(tr.ctx, gatehouse.ProjectCreate{Name: "shop", Description: "<b>&</b>"}))
	must(sqlstore.NewClusterService(db).CreateCluster(tr.ctx, gatehouse.ClusterCreate{Name: "c1", Kubeconfig: gatehouse.NewSecret(kubeconfig)}))
	for _, e := range []string{"dev", "prod"} {
		must(envs.CreateEnvironment(tr.ctx, "shop", gatehouse.EnvironmentCreate{Name: e, Cluster: "c1", Namespace: "shop-" + e, Production: e == "prod"}))
	}
	must(apps.CreateApp(tr.ctx, "shop", gatehouse.AppCreate{Name: "web", Values: "replicas: 2\n"}))
	for i := range 3 {
		desc := fmt.Sprintf("v%d é", i)
		must(projects.UpdateProject(tr.ctx, "shop", gatehouse.ProjectUpdate{Description: &desc}))
	}
	cp, err := tr.audit.CheckpointAudit(tr.ctx)
	must(cp, err)
	tr.cp = *cp
	desc := "after the checkpoint"
	must(apps.UpdateApp(tr.ctx, "shop", "web", gatehouse.AppUpdate{Description: &desc}))
	must(projects.UpdateProject(tr.ctx, "shop", gatehouse.ProjectUpdate{Description: &desc}))
	tr.pristine = tr.read(tb)
	if rep := tr.verify(tb); !rep.OK || rep.Events != int64(len(tr.pristine.rows)) || rep.Checkpoint == nil {
		tb.Fatalf("the trail as written does not verify: %+v %+v", rep, rep.Broken)
	}
	return tr
}

// read returns the trail as the database holds it.
func (tr *auditTrail) read(tb testing.TB) chainState {
	tb.Helper()
	var s chainState
	if err := tr.db.ChainPending(tr.ctx); err != nil {
		tb.Fatal(err)
	}
	rows, err := tr.db.Raw().Query(`SELECT seq, at, ` + strings.Join(auditTextCols[:], ", ") + ` FROM audit_events ORDER BY seq`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var r chainRow
		dst := []any{&r.seq, &r.at}
		for i := range r.text {
			dst = append(dst, &r.text[i])
		}
		if err := rows.Scan(dst...); err != nil {
			tb.Fatal(err)
		}
		s.rows = append(s.rows, r)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	if err := tr.db.Raw().QueryRow(`SELECT seq, hash, mac FROM audit_head`).Scan(&s.head.seq, &s.head.hash, &s.head.mac); err != nil {
		tb.Fatal(err)
	}
	return s
}

// write replaces the trail in the database with s, behind the store's back.
func (tr *auditTrail) write(tb testing.TB, s chainState) {
	tb.Helper()
	tx, err := tr.db.Raw().Begin()
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	exec := func(q string, args ...any) {
		tb.Helper()
		if _, err := tx.Exec(q, args...); err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
	}
	exec(`DELETE FROM audit_events`)
	marks := strings.Repeat(", ?", len(auditTextCols))
	for _, r := range s.rows {
		args := []any{r.seq, r.at}
		for _, v := range r.text {
			args = append(args, v)
		}
		exec(`INSERT INTO audit_events (seq, at, `+strings.Join(auditTextCols[:], ", ")+`) VALUES (?, ?`+marks+`)`, args...)
	}
	exec(`UPDATE audit_head SET seq = ?, hash = ?, mac = ?`, s.head.seq, s.head.hash, s.head.mac)
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}

func (tr *auditTrail) verify(tb testing.TB) *gatehouse.AuditReport {
	tb.Helper()
	rep, err := tr.audit.VerifyAuditCheckpoint(tr.ctx, tr.cp)
	if err != nil {
		tb.Fatal(err)
	}
	return rep
}

// olderHead reports the head the database held before that s is, with the trail cut back to
// it: the one edit the seal cannot see (README, Audit trail), which only a later checkpoint
// catches.
func (tr *auditTrail) olderHead(s chainState) (headRow, bool) {
	for _, h := range tr.heads {
		if h.seq <= int64(len(tr.pristine.rows)) && sameEvents(s, chainState{rows: tr.pristine.rows[:h.seq], head: h}) {
			return h, true
		}
	}
	return headRow{}, false
}

// FuzzAuditVerify: edits to the rows of a real trail, as someone who can write the database but
// does not hold the audit key would make them (change a field, delete a row, swap two, insert
// a copy, cut the tail, edit the sealed head), are reported by audit verify whenever they
// change what the trail says, and only then; and by verify with a checkpoint whenever they
// change what it says up to the checkpoint, an older head put back included.
func FuzzAuditVerify(f *testing.F) {
	tr := newAuditTrail(f)
	for _, seed := range [][]byte{
		{},                       // no edit
		{0, 3, 2, 0, 1, 'm'},     // the actor of event 4 becomes "m"
		{0, 4, 6, 0, 1, 'x'},     // the resource of event 5 becomes "x"
		{0, 0, 10, 2},            // the before snapshot of event 1 becomes NULL, as it was: no change
		{0, 0, 12, 2},            // the details of event 1 become NULL
		{0, 0, 13, 1, 3},         // the request id of event 1 is copied from event 4
		{0, 5, 0, 3},             // event 6 is renumbered 9: a duplicate, so no edit
		{0, 11, 1, 1},            // the time of event 12 moves by a microsecond
		{1, 7, 0},                // event 8 deleted
		{1, 2, 1},                // event 3 deleted, the rest renumbered
		{2, 2, 9},                // events 3 and 10 swap places
		{3, 4, 1},                // a copy of event 5 as event 13, the head on it
		{3, 1, 2, 6},             // a copy of event 2 inserted as event 7, the rest renumbered
		{4, 6, 1},                // the tail after event 6 cut, the head pointed at it
		{4, 0, 2, 5},             // cut back to the older head of event 6, before the checkpoint
		{4, 0, 2, 10},            // cut back to the older head of event 11, after the checkpoint
		{5, 0, 255},              // the head names event 11
		{5, 2, 3, 'a', 'b', 'c'}, // the head's seal becomes "abc"
		{5, 3, 2},                // the head gets the seal of an older head
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ed := &editor{in: data, heads: tr.heads}
		edited, did := ed.apply(tr.pristine.clone())
		tr.write(t, edited)
		stored := tr.read(t)
		plain, err := tr.audit.VerifyAudit(tr.ctx)
		if err != nil {
			t.Fatal(err)
		}
		withCP := tr.verify(t)
		older, isOlder := tr.olderHead(stored)
		switch {
		case sameEvents(stored, tr.pristine):
			if !plain.OK || !withCP.OK {
				t.Fatalf("after %q, which changed nothing, verify reports %+v, with the checkpoint %+v", did, plain.Broken, withCP.Broken)
			}
		case isOlder:
			if !plain.OK || withCP.OK != (older.seq >= tr.cp.Seq) {
				t.Fatalf("after %q, back to the older head %d: verify %+v, with the checkpoint at %d %+v", did, older.seq, plain.Broken, tr.cp.Seq, withCP.Broken)
			}
		default:
			if plain.OK || withCP.OK {
				t.Fatalf("after %q, verify reports the trail intact (%v, with the checkpoint %v)", did, plain.OK, withCP.OK)
			}
		}
		for _, rep := range []*gatehouse.AuditReport{plain, withCP} {
			if !rep.OK && (rep.Broken == nil || rep.Broken.Reason == "") {
				t.Fatalf("after %q, verify reports broken without saying where: %+v", did, rep)
			}
		}
	})
}
