package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// killMidTransaction runs op while the audit table is locked, so op's transaction stops right
// before it records its audit event (its change made, not committed), and there terminates
// op's PostgreSQL connection (pg_terminate_backend) times times, each time the write comes
// back on a new connection; then it lets op finish and returns op's answer.
func killMidTransaction(t *testing.T, db *sqlstore.DB, times int, op func() error) error {
	t.Helper()
	ctx := context.Background()
	blocker, err := db.Raw().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Rollback()
	var holder int
	if _, err := blocker.Exec(`LOCK TABLE audit_events IN EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	if err := blocker.QueryRow(`SELECT pg_backend_pid()`).Scan(&holder); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- op() }()
	for killed, deadline := 0, time.Now().Add(30*time.Second); killed < times; {
		var pid int
		err := db.Raw().QueryRow(`SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))
			AND query LIKE 'INSERT INTO audit_events%'`, holder).Scan(&pid)
		switch {
		case errors.Is(err, sql.ErrNoRows) && time.Now().Before(deadline):
			select {
			case err := <-done:
				t.Fatalf("the write ended (%v) after %d of %d kills: it never came back to be killed", err, killed, times)
			case <-time.After(5 * time.Millisecond):
			}
		case err != nil:
			t.Fatalf("find the waiting write (%d of %d killed): %v", killed, times, err)
		default:
			// pg_terminate_backend signals; the backend lingers in pg_stat_activity until it has
			// exited, and counting it twice would kill the write fewer times than asked.
			var gone bool
			if err := db.Raw().QueryRow(`SELECT pg_terminate_backend($1, 10000)`, pid).Scan(&gone); err != nil || !gone {
				t.Fatalf("terminate the waiting write: %v (gone %v)", err, gone)
			}
			killed++
		}
	}
	if err := blocker.Rollback(); err != nil {
		t.Fatal(err)
	}
	return <-done
}

// TestConnectionKilledMidTransaction kills the database connection of votes and deploys in
// the middle of their transactions. Once, the write runs again on a new connection and
// succeeds exactly once; every time, it answers unavailable saying to try again and leaves
// nothing behind. Either way the audit chain verifies, one event for each change made.
func TestConnectionKilledMidTransaction(t *testing.T) {
	g := newGated(t, "postgres")
	r := g.request(g.alice, g.digestA)
	if err := killMidTransaction(t, g.db, 1, func() error {
		_, err := g.approvals.Approve(g.bob, r.ID, gatehouse.Decision{Comment: "fine"})
		return err
	}); err != nil {
		t.Fatalf("a vote whose connection was killed once: %v", err)
	}
	_, err := g.approvals.Approve(g.carol, r.ID, gatehouse.Decision{})
	g.must(err)
	cur, err := g.approvals.Approval(g.admin, r.ID)
	g.must(err)
	if cur.State != gatehouse.ApprovalApproved || len(cur.Votes) != 2 {
		t.Fatalf("after bob's killed-once vote and carol's: %s with votes %+v", cur.State, cur.Votes)
	}
	deployments := func() int { return g.countRows(`SELECT COUNT(*) FROM deployments`) }
	before := deployments()
	err = killMidTransaction(t, g.db, 3, func() error {
		_, err := g.deploy(g.alice, g.digestA)
		return err
	})
	wantErr(t, err, gatehouse.KindUnavailable, "nothing was changed; try again")
	if n := deployments(); n != before {
		t.Fatalf("a deploy whose every connection was killed left %d deployments behind", n-before)
	}
	if cur, err := g.approvals.Approval(g.admin, r.ID); err != nil || cur.State != gatehouse.ApprovalApproved {
		t.Fatalf("the failed deploy consumed the approval: %v %v", cur.State, err)
	}
	d, err := g.deploy(g.alice, g.digestA)
	g.must(err)
	if cur, err := g.approvals.Approval(g.admin, r.ID); err != nil || cur.State != gatehouse.ApprovalConsumed || cur.Deployment != d.ID {
		t.Fatalf("the approval after deploying again: %+v %v", cur, err)
	}
	audit := sqlstore.NewAuditService(g.db)
	rep, err := audit.VerifyAudit(g.admin)
	g.must(err)
	if !rep.OK || rep.Pending != 0 {
		t.Fatalf("audit after the kills: %+v", rep)
	}
	events, err := audit.AuditEvents(g.admin, gatehouse.AuditFilter{Limit: 10000})
	g.must(err)
	votes, deploys := 0, 0
	for _, e := range events {
		switch {
		case strings.HasPrefix(e.Action, "approval.") && e.Actor == "bob":
			votes++
		case e.Action == "deployment.create" && e.Env == "prod":
			deploys++
		}
	}
	if votes != 1 || deploys != 1 {
		t.Fatalf("audit holds %d events of bob's vote and %d of prod deployments, want 1 and 1", votes, deploys)
	}
}
