package sqlstore_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

const plantedSecret = "planted-config-secret-8675309"

// configDraft is the input that opens a draft of a configuration resource.
func configDraft(r gatehouse.ConfigRef, in gatehouse.ConfigWrite) gatehouse.DraftCreate {
	return gatehouse.DraftCreate{DraftRef: r.Draft(), ConfigWrite: in}
}

func ref(env string, kind gatehouse.ConfigKind) gatehouse.ConfigRef {
	return gatehouse.ConfigRef{Project: "shop", App: "web", Environment: env, Kind: kind}
}

// configWorld is pipelineWorld with people for the draft flow: ed and erin edit (admin),
// ed also holds config-approver (which must not let him approve his own draft), cora and
// carl approve, and carl is in group security.
type configWorld struct {
	*fixture
	q                    *recordingQueue
	deps                 *sqlstore.DeploymentService
	policies             *sqlstore.PolicyService
	ed, erin, cora, carl context.Context
}

func newConfigWorld(t *testing.T, engine string) *configWorld {
	f := newFixture(t, engine)
	q, deps := f.pipelineWorld()
	w := &configWorld{fixture: f, q: q, deps: deps, policies: sqlstore.NewPolicyService(f.db)}
	w.ed = f.person("ed", "admin@project:shop", "config-approver@project:shop")
	w.erin = f.person("erin", "admin@project:shop")
	w.cora = f.person("cora", "config-approver@project:shop")
	w.carl = f.person("carl", "config-approver@project:shop/env:prod")
	_, err := f.groups.CreateGroup(f.admin, gatehouse.GroupCreate{Name: "security", Members: []string{"carl"}})
	f.must(err)
	return w
}

func (w *configWorld) protect(spec gatehouse.PolicySpec) {
	w.t.Helper()
	spec.Kind = gatehouse.PolicyConfig
	if spec.Name == "" {
		spec.Name = "prod-config"
	}
	if spec.Scope == "" {
		spec.Scope = "project:shop/env:prod"
	}
	if spec.Rules == nil {
		spec.Rules = []gatehouse.Rule{{Kind: gatehouse.RuleAny, Count: 1}}
	}
	_, err := w.policies.CreatePolicy(w.admin, spec)
	w.must(err)
}

func TestConfigResourcesAndSecretsAtRest(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		w := newConfigWorld(t, engine)
		_, err := w.config.SetConfig(w.admin, ref("dev", gatehouse.ConfigSecrets), gatehouse.ConfigWrite{Content: "DB_PASSWORD: " + plantedSecret + "\nAPI_KEY: k1\n"})
		w.must(err)
		_, err = w.config.SetConfig(w.admin, ref("dev", gatehouse.ConfigMapData), gatehouse.ConfigWrite{Content: "LOG_LEVEL: debug\nWORKERS: 4\n"})
		w.must(err)
		got, err := w.config.Config(w.admin, ref("dev", gatehouse.ConfigSecrets))
		w.must(err)
		if got.Content != "API_KEY: •••\nDB_PASSWORD: •••\n" || got.Protected {
			t.Fatalf("secrets shown as %q (protected %v)", got.Content, got.Protected)
		}
		if n := w.countRows(`SELECT COUNT(*) FROM config_items WHERE body LIKE '%' || $1 || '%'`, plantedSecret); n != 0 {
			t.Fatalf("a secret is stored in the clear in %d rows", n)
		}
		// Masked values keep what they hide; new keys take their value.
		_, err = w.config.SetConfig(w.admin, ref("dev", gatehouse.ConfigSecrets), gatehouse.ConfigWrite{Content: "DB_PASSWORD: •••\nAPI_KEY: k2\n"})
		w.must(err)
		_, err = w.config.SetConfig(w.admin, ref("dev", gatehouse.ConfigSecrets), gatehouse.ConfigWrite{Content: "NEW: •••\n"})
		wantErr(t, err, gatehouse.KindInvalid, "content:", "NEW")
		// Bad input names the line, never the value.
		_, err = w.config.SetConfig(w.admin, ref("dev", gatehouse.ConfigSecrets), gatehouse.ConfigWrite{Content: "A: ok\nB: [" + plantedSecret + "\n"})
		if gatehouse.KindOf(err) != gatehouse.KindInvalid || strings.Contains(err.Error(), plantedSecret) {
			t.Fatalf("bad secrets input: %v", err)
		}
		_, err = w.config.SetConfig(w.admin, ref("dev", gatehouse.ConfigSecrets), gatehouse.ConfigWrite{Content: "A: ok\nB: {x: " + plantedSecret + "}\n"})
		wantErr(t, err, gatehouse.KindInvalid, "line 2", "setting B")
		if strings.Contains(err.Error(), plantedSecret) {
			t.Fatalf("error echoes the secret: %v", err)
		}
		_, err = w.config.SetConfig(w.admin, ref("dev", gatehouse.ConfigValues), gatehouse.ConfigWrite{Content: "secrets: {X: y}\n"})
		wantErr(t, err, gatehouse.KindInvalid, `"secrets" key`)
		_, err = w.config.SetConfig(w.admin, ref("", gatehouse.ConfigSecrets), gatehouse.ConfigWrite{Content: "X: y\n"})
		wantErr(t, err, gatehouse.KindInvalid, "environment:")
		_, err = w.config.SetConfig(w.admin, ref("dev", "vault"), gatehouse.ConfigWrite{Content: "X: y\n"})
		wantErr(t, err, gatehouse.KindInvalid, "kind:")
		vera := w.person("vera", "viewer@project:shop")
		_, err = w.config.SetConfig(vera, ref("dev", gatehouse.ConfigMapData), gatehouse.ConfigWrite{Content: "X: y\n"})
		wantErr(t, err, gatehouse.KindForbidden)

		// A deployment takes every layer; its row keeps marks, the sealed column the values.
		d, err := w.deps.Deploy(w.admin, "shop", "web", gatehouse.DeploymentCreate{Environment: "dev", Digest: digest1})
		w.must(err)
		for _, want := range []string{"LOG_LEVEL: debug", "DB_PASSWORD: •••", "API_KEY: •••", "replicas: 2"} {
			if !strings.Contains(d.Values, want) {
				t.Fatalf("deployment values lack %q:\n%s", want, d.Values)
			}
		}
		if n := w.countRows(`SELECT COUNT(*) FROM deployments WHERE values_yaml LIKE '%' || $1 || '%' OR secrets_sealed LIKE '%' || $1 || '%'`, plantedSecret); n != 0 {
			t.Fatal("a deployment row holds a secret in the clear")
		}
		job, err := w.db.ClaimDeployment(context.Background(), d.ID, "w", time.Minute)
		w.must(err)
		if job.Secrets["DB_PASSWORD"] != plantedSecret || job.Secrets["API_KEY"] != "k2" {
			t.Fatalf("the worker gets secrets %v", job.Secrets)
		}
		w.must(w.db.AdvanceDeployment(context.Background(), d.ID, "w", sqlstore.Outcome{}, gatehouse.StateVerifying, gatehouse.StatePostDeploy, gatehouse.StateSucceeded))

		// The next deployment says what changed since: the secret by key only.
		_, err = w.config.SetConfig(w.admin, ref("dev", gatehouse.ConfigSecrets), gatehouse.ConfigWrite{Content: "DB_PASSWORD: rotated-" + plantedSecret + "\nAPI_KEY: •••\n"})
		w.must(err)
		d2, err := w.deps.Deploy(w.admin, "shop", "web", gatehouse.DeploymentCreate{Environment: "dev", Digest: digest1})
		w.must(err)
		if len(d2.ConfigChanges) != 1 || d2.ConfigChanges[0].Path != "secrets.DB_PASSWORD" || d2.ConfigChanges[0].New != "••• changed" {
			t.Fatalf("config changes = %+v", d2.ConfigChanges)
		}
		full, err := w.deps.Deployment(w.admin, "shop", "web", d2.ID)
		w.must(err)
		if !strings.Contains(full.Events[len(full.Events)-1].Message, "config changed since last deploy") {
			t.Fatalf("events = %+v", full.Events)
		}
		// Comparing environments shows which keys differ, never values.
		_, err = w.config.CompareConfig(w.admin, "shop", "web", "", "prod")
		wantErr(t, err, gatehouse.KindInvalid, "from", "is required")
		cmp, err := w.config.CompareConfig(w.admin, "shop", "web", "dev", "prod")
		w.must(err)
		b, _ := json.Marshal(cmp)
		if strings.Contains(string(b), plantedSecret) || !strings.Contains(string(b), "secrets.DB_PASSWORD") || !strings.Contains(string(b), "config.LOG_LEVEL") {
			t.Fatalf("compare = %s", b)
		}
		// Rolling back restores the old secret, sealed anew.
		_, err = w.db.ClaimDeployment(context.Background(), d2.ID, "w", time.Minute)
		w.must(err)
		w.must(w.db.AdvanceDeployment(context.Background(), d2.ID, "w", sqlstore.Outcome{Cause: "test"}, gatehouse.StateFailed))
		rb, err := w.deps.Rollback(w.admin, "shop", "web", d.ID)
		w.must(err)
		job, err = w.db.ClaimDeployment(context.Background(), rb.ID, "w", time.Minute)
		if err != nil || job.Secrets["DB_PASSWORD"] != plantedSecret {
			t.Fatalf("rollback secrets %v, %v", job, err)
		}
		trail, err := w.audit.AuditEvents(w.admin, gatehouse.AuditFilter{})
		w.must(err)
		b, _ = json.Marshal(trail)
		if strings.Contains(string(b), plantedSecret) {
			t.Fatal("the audit trail holds a secret value")
		}
	})
}

func TestConfigDraftFlow(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		w := newConfigWorld(t, engine)
		w.protect(gatehouse.PolicySpec{})
		_, err := w.config.SetConfig(w.ed, ref("prod", gatehouse.ConfigValues), gatehouse.ConfigWrite{Content: "replicas: 6\n"})
		wantErr(t, err, gatehouse.KindPreconditionFailed, "protected by policy prod-config", "draft")
		_, err = w.apps.SetOverrides(w.ed, "shop", "web", "prod", "replicas: 6\n")
		wantErr(t, err, gatehouse.KindPreconditionFailed, "protected")
		_, err = w.drafts.CreateDraft(w.ed, configDraft(ref("dev", gatehouse.ConfigValues), gatehouse.ConfigWrite{Content: "replicas: 6\n"}))
		wantErr(t, err, gatehouse.KindPreconditionFailed, "no policy judges this change", "change it directly")

		d, err := w.drafts.CreateDraft(w.ed, configDraft(ref("prod", gatehouse.ConfigValues), gatehouse.ConfigWrite{Content: "replicas: 6\n", Comment: "more capacity"}))
		w.must(err)
		if d.State != gatehouse.DraftOpen || d.Version != 1 || len(d.Change.Changes) != 1 || d.Change.Changes[0].Path != "replicas" ||
			!strings.Contains(d.Change.Unified, "-replicas: 5") || !strings.Contains(d.Change.Unified, "+replicas: 6") {
			t.Fatalf("draft = %+v change %+v", d, d.Change)
		}
		_, err = w.drafts.CreateDraft(w.erin, configDraft(ref("prod", gatehouse.ConfigValues), gatehouse.ConfigWrite{Content: "replicas: 7\n"}))
		wantErr(t, err, gatehouse.KindConflict, "is open")
		_, err = w.drafts.EditDraft(w.erin, d.ID, gatehouse.ConfigWrite{Content: "replicas: 7\n", BaseVersion: 2})
		wantErr(t, err, gatehouse.KindConflict, "draft changed, reload")
		_, err = w.drafts.ApproveDraft(w.cora, d.ID, gatehouse.Decision{Version: d.Version})
		wantErr(t, err, gatehouse.KindPreconditionFailed, "is draft")
		d, err = w.drafts.EditDraft(w.erin, d.ID, gatehouse.ConfigWrite{Content: "replicas: 7\nport: 9090\n", BaseVersion: 1, Comment: "and the port"})
		w.must(err)
		_, err = w.drafts.CommentDraft(w.cora, d.ID, "why 7?")
		w.must(err)
		d, err = w.drafts.ProposeDraft(w.erin, d.ID, gatehouse.DraftPropose{})
		w.must(err)
		if d.State != gatehouse.DraftProposed || d.Version != 2 || len(d.Authors) != 2 || len(d.Comments) != 1 {
			t.Fatalf("proposed draft = %+v", d)
		}
		if !notified(w.q, gatehouse.EventDraftProposed, d.ID, "cora") || notified(w.q, gatehouse.EventDraftProposed, d.ID, "ed") {
			t.Fatalf("proposal notifications = %+v", w.q.notifications())
		}
		// Authors never approve: ed holds config-approver but wrote version 1.
		_, err = w.drafts.ApproveDraft(w.ed, d.ID, gatehouse.Decision{Version: d.Version})
		wantErr(t, err, gatehouse.KindForbidden, "ed wrote a version of the draft")
		_, err = w.drafts.ApproveDraft(w.erin, d.ID, gatehouse.Decision{Version: d.Version})
		wantErr(t, err, gatehouse.KindForbidden, "erin")
		_, err = w.drafts.PublishDraft(w.erin, d.ID)
		wantErr(t, err, gatehouse.KindPreconditionFailed, "is proposed")
		d, err = w.drafts.ApproveDraft(w.cora, d.ID, gatehouse.Decision{Version: d.Version, Comment: "ok"})
		w.must(err)
		if d.State != gatehouse.DraftApproved || !d.Verdicts[0].Met {
			t.Fatalf("approved draft = %+v", d)
		}
		_, err = w.drafts.ApproveDraft(w.cora, d.ID, gatehouse.Decision{Version: d.Version})
		wantErr(t, err, gatehouse.KindConflict, "already voted")
		// A new version needs approval again.
		d, err = w.drafts.EditDraft(w.erin, d.ID, gatehouse.ConfigWrite{Content: "replicas: 8\nport: 9090\n", BaseVersion: 2})
		w.must(err)
		if d.State != gatehouse.DraftProposed || len(d.Votes) != 0 {
			t.Fatalf("edited approved draft = %+v", d)
		}
		d, err = w.drafts.ApproveDraft(w.cora, d.ID, gatehouse.Decision{Version: d.Version})
		w.must(err)
		before, err := w.apps.App(w.admin, "shop", "web")
		w.must(err)
		d, err = w.drafts.PublishDraft(w.erin, d.ID)
		w.must(err)
		live, err := w.config.Config(w.admin, ref("prod", gatehouse.ConfigValues))
		w.must(err)
		if d.State != gatehouse.DraftPublished || live.Content != "replicas: 8\nport: 9090\n" || live.Revision != before.ConfigRevision+1 ||
			d.PublishedRevision != live.Revision || live.OpenDraft != 0 {
			t.Fatalf("published %+v, live %+v", d, live)
		}
		if list, err := gatehouse.Items(w.drafts.Drafts(w.admin, gatehouse.DraftFilter{State: gatehouse.DraftPublished})); err != nil || len(list) != 1 || list[0].ID != d.ID {
			t.Fatalf("published drafts = %v %v", list, err)
		}
		_, err = w.drafts.Drafts(w.admin, gatehouse.DraftFilter{State: "pending"})
		wantErr(t, err, gatehouse.KindInvalid, "state", `"pending" is not a state`, "proposed")
		ev, err := w.audit.AuditEvents(w.admin, gatehouse.AuditFilter{Action: "config.publish"})
		w.must(err)
		if len(ev) != 1 || !strings.Contains(string(ev[0].Details), `"approvers":["cora"]`) {
			t.Fatalf("publish audit = %+v", ev)
		}
		// The next deployment says its config changed.
		dep, err := w.deps.Deploy(w.admin, "shop", "web", gatehouse.DeploymentCreate{Environment: "prod", Digest: digest1})
		w.must(err)
		if dep.ConfigRevision != live.Revision {
			t.Fatalf("deployment revision %d, live %d", dep.ConfigRevision, live.Revision)
		}
	})
}

func notified(q *recordingQueue, event string, draft int64, user string) bool {
	for _, n := range q.notifications() {
		if n.Event == event && n.DraftID == draft && n.User == user {
			return true
		}
	}
	return false
}

// TestConcurrentDraftEditsOneWins: many editors starting from the same version; exactly one
// edit lands, every other is told the draft changed.
func TestConcurrentDraftEditsOneWins(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		w := newConfigWorld(t, engine)
		w.protect(gatehouse.PolicySpec{})
		d, err := w.drafts.CreateDraft(w.ed, configDraft(ref("prod", gatehouse.ConfigMapData), gatehouse.ConfigWrite{Content: "A: \"1\"\n"}))
		w.must(err)
		wins, conflicts := 0, 0
		for _, err := range concurrently(20, func(i int) error {
			_, err := w.drafts.EditDraft(w.erin, d.ID, gatehouse.ConfigWrite{Content: "A: \"" + strings.Repeat("x", i+1) + "\"\n", BaseVersion: 1})
			return err
		}) {
			switch {
			case err == nil:
				wins++
			case gatehouse.KindOf(err) == gatehouse.KindConflict && strings.Contains(err.Error(), "draft changed, reload"):
				conflicts++
			default:
				t.Errorf("edit: %v", err)
			}
		}
		got, err := w.drafts.Draft(w.admin, d.ID)
		w.must(err)
		if wins != 1 || conflicts != 19 || got.Version != 2 || len(got.Versions) != 2 {
			t.Fatalf("%d wins, %d conflicts, draft at version %d with %d versions", wins, conflicts, got.Version, len(got.Versions))
		}
	})
}

// TestRiskRulesAndProtectionOff: a policy asks more of changes that touch secrets; taking
// protection away discards open drafts, audited.
func TestRiskRulesAndProtectionOff(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		w := newConfigWorld(t, engine)
		w.protect(gatehouse.PolicySpec{Risks: []gatehouse.RiskRule{{When: "'secrets' in change.labels",
			Rules: []gatehouse.Rule{{Kind: gatehouse.RuleGroup, Count: 1, Group: "security"}}}}})
		d, err := w.drafts.CreateDraft(w.ed, configDraft(ref("prod", gatehouse.ConfigSecrets), gatehouse.ConfigWrite{Content: "TOKEN: " + plantedSecret + "\n"}))
		w.must(err)
		if strings.Join(d.Change.Labels, ",") != "secrets" || strings.Contains(d.Content, plantedSecret) || d.Content != "TOKEN: •••\n" {
			t.Fatalf("secret draft = %+v", d)
		}
		_, err = w.drafts.ProposeDraft(w.ed, d.ID, gatehouse.DraftPropose{})
		w.must(err)
		d, err = w.drafts.ApproveDraft(w.cora, d.ID, gatehouse.Decision{Version: d.Version})
		w.must(err)
		if d.State != gatehouse.DraftProposed || d.Verdicts[0].Met || !strings.Contains(strings.Join(d.Verdicts[0].Missing, ";"), "group security") {
			t.Fatalf("after one approval: %+v", d.Verdicts)
		}
		d, err = w.drafts.ApproveDraft(w.carl, d.ID, gatehouse.Decision{Version: d.Version})
		w.must(err)
		if d.State != gatehouse.DraftApproved {
			t.Fatalf("after the security approval: %s %+v", d.State, d.Verdicts)
		}
		// A values draft carries no secrets label and needs one approval.
		v, err := w.drafts.CreateDraft(w.ed, configDraft(ref("prod", gatehouse.ConfigValues), gatehouse.ConfigWrite{Content: "replicas: 0\n"}))
		w.must(err)
		if strings.Join(v.Change.Labels, ",") != "scale-to-zero" {
			t.Fatalf("labels = %v", v.Change.Labels)
		}
		wantErr(t, w.policies.DeletePolicy(w.admin, "prod-config"), gatehouse.KindPreconditionFailed, "changes go through a draft")
		w.passDraft(w.admin, gatehouse.DraftRef{Kind: gatehouse.DraftPolicy, Policy: "prod-config"}, "", w.cora)
		for _, id := range []int64{d.ID, v.ID} {
			got, err := w.drafts.Draft(w.admin, id)
			w.must(err)
			if got.State != gatehouse.DraftDiscarded || !strings.Contains(got.Reason, "protection turned off") {
				t.Fatalf("draft %d after protection off: %s %q", id, got.State, got.Reason)
			}
		}
		ev, err := w.audit.AuditEvents(w.admin, gatehouse.AuditFilter{Action: "draft.discarded"})
		w.must(err)
		if len(ev) != 2 {
			t.Fatalf("%d discard events", len(ev))
		}
		_, err = w.config.SetConfig(w.ed, ref("prod", gatehouse.ConfigValues), gatehouse.ConfigWrite{Content: "replicas: 6\n"})
		w.must(err)
	})
}
