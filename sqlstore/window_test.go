package sqlstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// windowWorld is an app whose every stage deploys by itself (dev on push, stage after dev,
// prod after stage once approved), prod gated by prod-gate.
type windowWorld struct {
	*fixture
	q         *recordingQueue
	deps      *sqlstore.DeploymentService
	windows   *sqlstore.WindowService
	approvals *sqlstore.ApprovalService
	ci        context.Context
	bob       context.Context // approves prod
	carol     context.Context // approves prod
}

func newWindowWorld(t *testing.T, engine string) *windowWorld {
	f := newFixture(t, engine)
	f.world()
	w := &windowWorld{fixture: f, q: &recordingQueue{}, deps: sqlstore.NewDeploymentService(f.db), windows: sqlstore.NewWindowService(f.db),
		approvals: sqlstore.NewApprovalService(f.db)}
	f.db.SetQueue(w.q)
	_, err := f.pipes.SetPipeline(f.admin, "shop", "web", gatehouse.PipelineSet{Stages: []gatehouse.Stage{
		{Environment: "dev", Trigger: "auto"}, {Environment: "stage", After: "dev", Trigger: "auto"}, {Environment: "prod", After: "stage", Trigger: "auto"}}})
	f.must(err)
	w.ci = f.serviceAccount("ci", "deployer@project:shop")
	w.bob = f.person("bob", "image-approver@project:shop/env:prod")
	w.carol = f.person("carol", "image-approver@project:shop/env:prod")
	f.person("dave", "admin@project:shop")
	// erin may break the glass in prod (granted before prod-gate, which now judges such grants).
	f.person("erin", "deployer@project:shop", "break-glass@project:shop/env:prod")
	_, err = sqlstore.NewPolicyService(f.db).CreatePolicy(f.admin, gatehouse.PolicySpec{Name: "prod-gate", Scope: "project:shop/env:prod",
		Rules: []gatehouse.Rule{{Kind: gatehouse.RuleAny, Count: 1}}})
	f.must(err)
	return w
}

func (w *windowWorld) push(digit string) string {
	w.t.Helper()
	d := "sha256:" + strings.Repeat(digit, 64)
	_, err := w.arts.CreateArtifact(w.ci, "shop", "web", gatehouse.ArtifactCreate{Image: "r.example.com/web:" + digit + "@" + d})
	w.must(err)
	return d
}

// latest is the newest deployment of the app into env, nil when there is none.
func (w *windowWorld) latest(env string) *gatehouse.Deployment {
	w.t.Helper()
	ds, err := gatehouse.Items(w.deps.Deployments(w.admin, "shop", "web", gatehouse.DeploymentFilter{Environment: env, Limit: 1}))
	w.must(err)
	if len(ds) == 0 {
		return nil
	}
	return ds[0]
}

func (w *windowWorld) waiting() []*gatehouse.DeploymentWait {
	w.t.Helper()
	ws, err := w.windows.Waiting(w.admin, "shop", "web", "")
	w.must(err)
	return ws
}

func (w *windowWorld) window(ctx context.Context, yaml string) *gatehouse.Window {
	w.t.Helper()
	var in gatehouse.WindowSpec
	w.must(gatehouse.ParseSetting("window", yaml, &in))
	out, err := w.windows.CreateWindow(ctx, in)
	w.must(err)
	return out
}

// TestWindowsStopEveryPath: a freeze refuses what people ask for (a deploy, a rollback) with
// when it opens; what the pipeline starts (a push, a promotion, the approval of an automatic
// stage) waits, is judged again while the freeze lasts without starting, and starts once it
// ends. A deployment running when the freeze began finishes.
func TestWindowsStopEveryPath(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		w := newWindowWorld(t, engine)
		t0 := w.clock.Now()
		// Before the freeze: Z runs through dev and stage (prod waits for approval); Y is
		// pushed and its dev deployment is running when the freeze begins.
		z := w.push("a")
		w.succeed(w.latest("dev").ID)
		w.succeed(w.latest("stage").ID)
		firstDev := w.latest("dev").ID
		y := w.push("b")
		running := w.latest("dev")
		w.window(w.admin, `name: holiday
kind: deny
scope: project:shop
timezone: Europe/Berlin
start: `+t0.Add(time.Hour).Format(time.RFC3339)+`
end: `+t0.Add(25*time.Hour).Format(time.RFC3339)+`
description: the shop is closed`)
		w.clock.Advance(2 * time.Hour)
		opens := "opens Sat 28 Nov 12:00 Europe/Berlin" // t0 + 25h is 11:00Z, 12:00 in Berlin

		// People are refused, and told when it opens.
		_, err := w.deps.Deploy(w.admin, "shop", "web", gatehouse.DeploymentCreate{Environment: "dev", Digest: z})
		wantErr(t, err, gatehouse.KindPreconditionFailed, "environment dev of app shop/web is closed by window holiday", opens)
		_, err = w.deps.Rollback(w.admin, "shop", "web", firstDev)
		wantErr(t, err, gatehouse.KindPreconditionFailed, "closed by window holiday", opens)

		// The running deployment finishes; its promotion waits.
		w.succeed(running.ID)
		// A push waits.
		x := w.push("c")
		// The approval of prod (an automatic stage) waits.
		r, err := w.approvals.RequestApproval(w.ci, "shop", "web", gatehouse.ApprovalCreate{Environment: "prod", Digest: z})
		w.must(err)
		_, err = w.approvals.Approve(w.bob, r.ID, gatehouse.Decision{})
		w.must(err)

		before := w.countRows(`SELECT COUNT(*) FROM deployments`)
		waits := w.waiting()
		got := map[string]string{}
		for _, wt := range waits {
			got[wt.Environment] = wt.Digest
			if wt.State != gatehouse.WaitWaiting || !strings.Contains(wt.Message, "closed by window holiday: "+opens) {
				t.Fatalf("wait %+v", wt)
			}
		}
		if len(waits) != 3 || got["dev"] != x || got["stage"] != y || got["prod"] != z {
			t.Fatalf("waiting: %+v", got)
		}
		if ev := lastEvent(t, w, running.ID); !strings.Contains(ev, "stage stage waits: closed by window holiday: "+opens) {
			t.Fatalf("the promoting deployment says %q", ev)
		}
		p, err := w.pipes.Pipeline(w.admin, "shop", "web")
		w.must(err)
		if v := p.Windows["prod"]; v.Open || v.Until.IsZero() || len(p.Waiting) != 3 {
			t.Fatalf("pipeline windows %+v, %d waiting", p.Windows, len(p.Waiting))
		}

		// Judged again while still closed: nothing starts, nothing is lost.
		w.clock.Advance(time.Hour)
		w.exec(`UPDATE deployment_waits SET check_at = 0`)
		n, err := w.db.StartOpenedWaits(context.Background())
		w.must(err)
		if n != 0 || w.countRows(`SELECT COUNT(*) FROM deployments`) != before || len(w.waiting()) != 3 {
			t.Fatalf("started %d inside the freeze", n)
		}

		// Before its time nothing is judged; once it opens, all three start.
		w.clock.Advance(21*time.Hour + 59*time.Minute)
		if n, err := w.db.StartOpenedWaits(context.Background()); err != nil || n != 0 {
			t.Fatalf("a minute early: %d %v", n, err)
		}
		w.clock.Advance(time.Minute)
		n, err = w.db.StartOpenedWaits(context.Background())
		w.must(err)
		if n != 3 || len(w.waiting()) != 0 {
			t.Fatalf("started %d, still waiting %d", n, len(w.waiting()))
		}
		for env, digest := range map[string]string{"dev": x, "stage": y, "prod": z} {
			d := w.latest(env)
			if d.Digest != digest || d.CreatedAt.Before(t0.Add(25*time.Hour)) || !strings.Contains(lastEvent(t, w, d.ID), "waited since") {
				t.Fatalf("%s: %+v", env, d)
			}
		}
		if r, err := w.approvals.Approval(w.admin, r.ID); err != nil || r.State != gatehouse.ApprovalConsumed {
			t.Fatalf("the approval the prod deployment used: %v %v", r.State, err)
		}
		started, err := w.windows.Waiting(w.admin, "shop", "web", gatehouse.WaitStarted)
		w.must(err)
		if len(started) != 3 || started[0].Deployment == 0 {
			t.Fatalf("started waits %+v", started)
		}
	})
}

func lastEvent(t *testing.T, w *windowWorld, id int64) string {
	t.Helper()
	d, err := w.deps.Deployment(w.admin, "shop", "web", id)
	w.must(err)
	return d.Events[len(d.Events)-1].Message
}

// TestWindowsAreGatedSettings: what only closes more applies at once; what opens a protected
// environment where it was closed goes through a draft its policies judge; windows of
// unprotected environments change freely, and waits are judged again as soon as they do.
func TestWindowsAreGatedSettings(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		w := newWindowWorld(t, engine)
		dave := w.login("dave")
		t0 := w.clock.Now()
		oneOff := func(name, scope string, from, to time.Duration) gatehouse.WindowSpec {
			s, e := t0.Add(from), t0.Add(to)
			return gatehouse.WindowSpec{Name: name, Kind: gatehouse.WindowDeny, Scope: scope, Start: &s, End: &e}
		}
		freeze := oneOff("launch", "project:shop/env:prod", time.Hour, 48*time.Hour)
		got, err := w.windows.CreateWindow(dave, freeze)
		w.must(err)
		if got.Version != 1 || got.UpdatedBy != "dave" || got.TimeZone != "UTC" {
			t.Fatalf("created %+v", got)
		}
		_, err = w.windows.CreateWindow(w.ci, oneOff("ci", "project:shop/env:prod", 0, time.Hour))
		wantErr(t, err, gatehouse.KindForbidden)
		_, err = w.windows.CreateWindow(dave, freeze)
		wantErr(t, err, gatehouse.KindConflict, `window "launch" already exists`)

		// Longer applies at once; shorter and deletion are refused, naming the policy.
		got, err = w.windows.UpdateWindow(dave, "launch", oneOff("launch", "project:shop/env:prod", 0, 72*time.Hour))
		if err != nil || got.Version != 2 {
			t.Fatalf("lengthening: %+v %v", got, err)
		}
		_, err = w.windows.UpdateWindow(dave, "launch", oneOff("launch", "project:shop/env:prod", 0, 24*time.Hour))
		wantErr(t, err, gatehouse.KindPreconditionFailed, "window launch is protected by policy prod-gate")
		wantErr(t, w.windows.DeleteWindow(dave, "launch"), gatehouse.KindPreconditionFailed, "window launch is protected by policy prod-gate")
		// Narrowing it to one app opens the others: a loosening too.
		_, err = w.windows.UpdateWindow(dave, "launch", oneOff("launch", "project:shop/app:api/env:prod", 0, 72*time.Hour))
		wantErr(t, err, gatehouse.KindPreconditionFailed, "protected by policy prod-gate")

		// Shortening goes through a draft that prod's approvers judge, and says what it opens.
		shorter, err := gatehouse.RenderSetting(oneOff("launch", "project:shop/env:prod", 0, 24*time.Hour))
		w.must(err)
		d, err := w.drafts.CreateDraft(dave, gatehouse.DraftCreate{DraftRef: gatehouse.DraftRef{Kind: gatehouse.DraftWindow, Window: "launch"},
			ConfigWrite: gatehouse.ConfigWrite{Content: shorter}})
		w.must(err)
		if !strings.Contains(strings.Join(d.Change.Labels, ";"), "opens shop/web in prod where it was closed") || len(d.Policies) != 1 {
			t.Fatalf("labels %v, policies %v", d.Change.Labels, d.Policies)
		}
		_, err = w.drafts.ProposeDraft(dave, d.ID, gatehouse.DraftPropose{})
		w.must(err)
		_, err = w.drafts.ApproveDraft(w.bob, d.ID, gatehouse.Decision{Version: 1})
		w.must(err)
		_, err = w.drafts.PublishDraft(dave, d.ID)
		w.must(err)
		got, err = w.windows.Window(w.admin, "launch")
		if err != nil || got.Version != 3 || !got.End.Equal(t0.Add(24*time.Hour)) {
			t.Fatalf("after publishing: %+v %v", got, err)
		}

		// A first maintenance window closes prod outside it: at once. A second widens them.
		maint := gatehouse.WindowSpec{Name: "tuesdays", Kind: gatehouse.WindowAllow, Scope: "project:shop/env:prod", TimeZone: "Europe/Berlin",
			RRule: "FREQ=WEEKLY;BYDAY=TU;BYHOUR=6", Duration: "4h"}
		_, err = w.windows.CreateWindow(dave, maint)
		w.must(err)
		maint.Name, maint.RRule = "thursdays", "FREQ=WEEKLY;BYDAY=TH;BYHOUR=6"
		_, err = w.windows.CreateWindow(dave, maint)
		wantErr(t, err, gatehouse.KindPreconditionFailed, "window thursdays is protected by policy prod-gate")

		// dev is protected by nobody: its freeze comes and goes, and what waited for it
		// starts as soon as it goes.
		_, err = w.windows.CreateWindow(dave, oneOff("dev-freeze", "project:shop/env:dev", 0, 240*time.Hour))
		w.must(err)
		x := w.push("c")
		if ws := w.waiting(); len(ws) != 1 || ws[0].Digest != x {
			t.Fatalf("waiting %+v", ws)
		}
		w.must(w.windows.DeleteWindow(dave, "dev-freeze"))
		if n, err := w.db.StartOpenedWaits(context.Background()); err != nil || n != 1 || w.latest("dev").Digest != x {
			t.Fatalf("after the freeze was deleted: started %d %v", n, err)
		}
		if _, err := w.windows.Window(dave, "dev-freeze"); gatehouse.KindOf(err) != gatehouse.KindNotFound {
			t.Fatalf("deleted window: %v", err)
		}
		evs, err := w.audit.AuditEvents(w.admin, gatehouse.AuditFilter{Action: "window."})
		w.must(err)
		var actions []string
		for _, e := range evs {
			actions = append(actions, e.Action)
		}
		if strings.Join(actions, ",") != "window.create,window.update,window.update,window.create,window.create,window.delete" {
			t.Fatalf("audit %v", actions)
		}
	})
}
