package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// TestListsAtScale: with 10,000 open requests across 200 projects, an approver of one quiet
// project finds exactly its 3 on the first page of "waiting for me"; a viewer of everything
// pages through all of them with cursors, each once, newest first; and a page costs the same
// few queries whether it holds 20 requests or 100.
func TestListsAtScale(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		f.world()
		approvals := sqlstore.NewApprovalService(f.db)
		// People get their roles before the policy that would count them exists.
		quinn := f.person("quinn", "image-approver@project:shop")
		vic := f.person("vic", "viewer@*")
		_, err := f.pipes.SetPipeline(f.admin, "shop", "web", gatehouse.PipelineSet{Stages: []gatehouse.Stage{{Environment: "prod"}}})
		f.must(err)
		_, err = sqlstore.NewPolicyService(f.db).CreatePolicy(f.admin, gatehouse.PolicySpec{Name: "gate", Scope: "project:*/env:prod",
			Rules: []gatehouse.Rule{{Kind: gatehouse.RuleAny, Count: 1}}})
		f.must(err)
		var quiet []int64
		for i := 0; i < 3; i++ {
			d := fmt.Sprintf("sha256:%064x", i)
			_, err := f.arts.CreateArtifact(f.admin, "shop", "web", gatehouse.ArtifactCreate{Image: "r.example.com/web@" + d})
			f.must(err)
			r, err := approvals.RequestApproval(f.admin, "shop", "web", gatehouse.ApprovalCreate{Environment: "prod", Digest: d})
			f.must(err)
			quiet = append([]int64{r.ID}, quiet...)
		}
		seedRequests(t, f.db.Raw(), 199, 9997)

		queries := func(who context.Context, flt gatehouse.ApprovalFilter) (gatehouse.Page[*gatehouse.ApprovalRequest], int64) {
			t.Helper()
			ctx, ran := sqlstore.CountQueries(who)
			p, err := approvals.Approvals(ctx, flt)
			f.must(err)
			return p, ran()
		}
		mine, n := queries(quinn, gatehouse.ApprovalFilter{ForMe: true, Limit: 20})
		if got := ids(mine.Items); fmt.Sprint(got) != fmt.Sprint(quiet) || mine.Next != "" {
			t.Fatalf("quinn's first page: %v (next %q), want %v", got, mine.Next, quiet)
		}
		if n > 6 {
			t.Errorf("quinn's page took %d queries, want at most 6", n)
		}
		p20, n20 := queries(vic, gatehouse.ApprovalFilter{Limit: 20})
		p100, n100 := queries(vic, gatehouse.ApprovalFilter{Limit: 100})
		if len(p20.Items) != 20 || len(p100.Items) != 100 || p20.Next == "" {
			t.Fatalf("vic's pages hold %d and %d requests", len(p20.Items), len(p100.Items))
		}
		t.Logf("queries per page: inbox %d, page of 20 %d, of 100 %d", n, n20, n100)
		if n20 != n100 || n100 > 6 {
			t.Errorf("a page of 20 took %d queries, of 100 %d: want the same, at most 6", n20, n100)
		}
		// Every request once, newest first, page after page.
		seen, last, cursor := 0, int64(0), ""
		for pages := 0; ; pages++ {
			p, n := queries(vic, gatehouse.ApprovalFilter{Limit: 1000, Cursor: cursor})
			if n > 6 {
				t.Errorf("page %d took %d queries", pages, n)
			}
			for _, r := range p.Items {
				if last != 0 && r.ID >= last {
					t.Fatalf("request %d after %d", r.ID, last)
				}
				last = r.ID
				seen++
			}
			if cursor = p.Next; cursor == "" || pages > 20 {
				break
			}
		}
		if seen != 10000 {
			t.Fatalf("vic paged through %d requests, want 10000", seen)
		}
		_, err = approvals.Approvals(vic, gatehouse.ApprovalFilter{Cursor: "not a cursor"})
		wantErr(t, err, gatehouse.KindInvalid, "cursor")
	})
}

func ids(rs []*gatehouse.ApprovalRequest) []int64 {
	var out []int64
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

// seedRequests adds projects p1…pN (an app svc and an environment prod each, gated by the
// policy gate) and n open requests spread over them, every seventh with a vote cast, in bulk
// inserts of one transaction: seconds, where raising them one by one would take minutes.
func seedRequests(t *testing.T, db *sql.DB, projects, n int) {
	t.Helper()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	bulk := func(table string, cols []string, rows [][]any) {
		t.Helper()
		for len(rows) > 0 {
			chunk := rows[:min(len(rows), 500)]
			rows = rows[len(chunk):]
			var vals []string
			var args []any
			for _, r := range chunk {
				ph := make([]string, len(r))
				for i := range r {
					args = append(args, r[i])
					ph[i] = fmt.Sprintf("$%d", len(args))
				}
				vals = append(vals, "("+strings.Join(ph, ", ")+")")
			}
			if _, err := tx.Exec(`INSERT INTO `+table+` (`+strings.Join(cols, ", ")+`) VALUES `+strings.Join(vals, ", "), args...); err != nil {
				t.Fatalf("seed %s: %v", table, err)
			}
		}
	}
	idsOf := func(query string) map[string]int64 {
		t.Helper()
		rows, err := tx.Query(query)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]int64{}
		for rows.Next() {
			var k string
			var id int64
			if err := rows.Scan(&k, &id); err != nil {
				t.Fatal(err)
			}
			out[k] = id
		}
		return out
	}
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC).UnixMicro() // the fixture's clock
	var rows [][]any
	for p := 1; p <= projects; p++ {
		rows = append(rows, []any{fmt.Sprintf("p%d", p), at, at})
	}
	bulk("projects", []string{"name", "created_at", "updated_at"}, rows)
	project := idsOf(`SELECT name, id FROM projects`)
	cluster := idsOf(`SELECT name, id FROM clusters`)["c1"]
	var apps, envs [][]any
	for p := 1; p <= projects; p++ {
		id := project[fmt.Sprintf("p%d", p)]
		apps = append(apps, []any{id, "svc", "", at, at})
		envs = append(envs, []any{id, "prod", cluster, fmt.Sprintf("p%d-prod", p), true, at, at})
	}
	bulk("apps", []string{"project_id", "name", "chart", "created_at", "updated_at"}, apps)
	bulk("environments", []string{"project_id", "name", "cluster_id", "namespace", "production", "created_at", "updated_at"}, envs)
	app := idsOf(`SELECT p.name, a.id FROM apps a JOIN projects p ON p.id = a.project_id`)
	env := idsOf(`SELECT p.name, e.id FROM environments e JOIN projects p ON p.id = e.project_id WHERE e.name = 'prod'`)
	var arts [][]any
	for i := 0; i < n; i++ {
		arts = append(arts, []any{app[fmt.Sprintf("p%d", i%projects+1)], "r.example.com/svc", fmt.Sprintf("sha256:%064x", 1000+i), "ci", "ci", at})
	}
	bulk("artifacts", []string{"app_id", "repository", "digest", "builder", "created_by", "created_at"}, arts)
	art := idsOf(`SELECT digest, id FROM artifacts`)
	var reqs [][]any
	for i := 0; i < n; i++ {
		p, d := fmt.Sprintf("p%d", i%projects+1), fmt.Sprintf("sha256:%064x", 1000+i)
		reqs = append(reqs, []any{app[p], env[p], "prod", art[d], "r.example.com/svc@" + d, d, `[{"name":"gate","version":1}]`, "ci", "ci", "pending", at})
	}
	bulk("approvals", []string{"app_id", "environment_id", "stage", "artifact_id", "image", "digest", "policies", "requester", "requester_person",
		"state", "created_at"}, reqs)
	var votes [][]any
	for _, id := range idsOf(`SELECT digest, id FROM approvals`) {
		if id%7 == 0 {
			votes = append(votes, []any{"request", id, 1, "admin", true, "", "session", at})
		}
	}
	bulk("ballot_votes", []string{"flow", "ballot_id", "version", "voter", "approve", "comment", "via", "at"}, votes)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}
