package sqlstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/keyring"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// newFixtureWith is newFixture sealing with the given key, also returning the store's options
// so a test can open the same database again with other keys.
func newFixtureWith(t *testing.T, engine string, key []byte) (*fixture, sqlstore.Options) {
	t.Helper()
	ring, err := keyring.New(key)
	if err != nil {
		t.Fatal(err)
	}
	var opts sqlstore.Options
	f := newFixture(t, engine, func(o *sqlstore.Options) { o.Secrets = ring; opts = *o })
	return f, opts
}

// reopen opens the fixture's database again with other secret keys, the current one first.
func reopen(t *testing.T, opts sqlstore.Options, keys ...[]byte) *sqlstore.DB {
	t.Helper()
	ring, err := keyring.New(keys...)
	if err != nil {
		t.Fatal(err)
	}
	opts.Secrets = ring
	db, err := sqlstore.Open(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// sealedValues reads every sealed value straight from the database, each with the additional
// data it must open with, as the store seals them.
func sealedValues(t *testing.T, db *sqlstore.DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	queries := []struct {
		query string
		aad   func(k1 int64, k2 int64, s string) string
	}{
		{`SELECT id, 0, name, kubeconfig_sealed FROM clusters`, func(_, _ int64, name string) string { return "cluster/" + name + "/kubeconfig" }},
		{`SELECT id, 0, '', url_sealed FROM webhooks`, func(id, _ int64, _ string) string { return fmt.Sprintf("webhook/%d/url", id) }},
		{`SELECT id, 0, '', secret_sealed FROM webhooks WHERE secret_sealed <> ''`, func(id, _ int64, _ string) string { return fmt.Sprintf("webhook/%d/secret", id) }},
		{`SELECT app_id, environment_id, '', body FROM config_items WHERE kind = 'secrets'`, func(a, e int64, _ string) string { return fmt.Sprintf("config:%d:%d:secrets", a, e) }},
		{`SELECT v.draft_id, v.version, '', v.body FROM draft_versions v JOIN drafts d ON d.id = v.draft_id WHERE d.kind = 'secrets'`,
			func(d, v int64, _ string) string { return fmt.Sprintf("draft:%d:%d", d, v) }},
		{`SELECT id, 0, '', secrets_sealed FROM deployments WHERE secrets_sealed <> ''`, func(id, _ int64, _ string) string { return fmt.Sprintf("deployment:%d:secrets", id) }},
	}
	for _, q := range queries {
		rows, err := db.Raw().Query(q.query)
		if err != nil {
			t.Fatalf("%s: %v", q.query, err)
		}
		for rows.Next() {
			var k1, k2 int64
			var s, v string
			if err := rows.Scan(&k1, &k2, &s, &v); err != nil {
				t.Fatal(err)
			}
			out[q.aad(k1, k2, s)] = v
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestResealRotatesEverySealedValue seeds every kind of sealed value, rotates to a new key and
// checks every value is sealed by it alone, still reads as it was, and a second run is a no-op.
func TestResealRotatesEverySealedValue(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		oldKey, newKey := keyring.NewKey(), keyring.NewKey()
		oldID, newID := keyring.KeyID(oldKey), keyring.KeyID(newKey)
		f, opts := newFixtureWith(t, engine, oldKey)
		_, deps := f.pipelineWorld()
		w := &configWorld{fixture: f, deps: deps, policies: sqlstore.NewPolicyService(f.db)}
		ctx := context.Background()

		hooks := sqlstore.NewWebhookService(f.db)
		signed, err := hooks.CreateWebhook(f.admin, "shop", gatehouse.WebhookCreate{Name: "signed",
			URL: gatehouse.OutgoingSecret("https://hooks.example.com/x?token=planted-url-token"), Secret: gatehouse.OutgoingSecret("planted-signing-secret")})
		f.must(err)
		unsigned, err := hooks.CreateWebhook(f.admin, "shop", gatehouse.WebhookCreate{Name: "unsigned", URL: gatehouse.OutgoingSecret("https://hooks.example.com/y")})
		f.must(err)
		_, err = f.config.SetConfig(f.admin, ref("dev", gatehouse.ConfigSecrets), gatehouse.ConfigWrite{Content: "DB_PASSWORD: " + plantedSecret + "\n"})
		f.must(err)
		dep, err := deps.Deploy(f.admin, "shop", "web", gatehouse.DeploymentCreate{Environment: "dev", Digest: digest1})
		f.must(err)
		w.protect(gatehouse.PolicySpec{})
		draft, err := f.drafts.CreateDraft(f.admin, configDraft(ref("prod", gatehouse.ConfigSecrets), gatehouse.ConfigWrite{Content: "TOKEN: draft-v1-secret\n"}))
		f.must(err)
		_, err = f.drafts.EditDraft(f.admin, draft.ID, gatehouse.ConfigWrite{Content: "TOKEN: draft-v2-secret\n", BaseVersion: 1})
		f.must(err)
		values, err := f.drafts.CreateDraft(f.admin, configDraft(ref("prod", gatehouse.ConfigValues), gatehouse.ConfigWrite{Content: "replicas: 9\n"}))
		f.must(err)
		// More versions than one batch holds, so paging over a two-column key runs.
		oldRing, _ := keyring.New(oldKey)
		for v := int64(3); v <= 252; v++ {
			f.exec(`INSERT INTO draft_versions (draft_id, version, body, author, comment, at) VALUES ($1, $2, $3, 'admin', '', 0)`,
				draft.ID, v, oldRing.Seal([]byte(fmt.Sprintf("TOKEN: v%d\n", v)), fmt.Sprintf("draft:%d:%d", draft.ID, v)))
		}
		before := sealedValues(t, f.db)
		if len(before) != 1+2+1+1+252+1 {
			t.Fatalf("seeded %d sealed values", len(before))
		}
		plain := map[string]string{}
		for aad, v := range before {
			pt, err := oldRing.Open(v, aad)
			if err != nil || keyring.SealedBy(v) != oldID {
				t.Fatalf("seeded %s: %v", aad, err)
			}
			plain[aad] = string(pt)
		}

		both := reopen(t, opts, newKey, oldKey)
		var heard []string
		rep, err := both.Reseal(ctx, func(table string, n int) { heard = append(heard, fmt.Sprintf("%s=%d", table, n)) })
		f.must(err)
		want := map[string]int{"clusters": 1, "webhooks": 3, "config_items": 1, "draft_versions": 252, "deployments": 1}
		if rep.Current != newID || fmt.Sprint(rep.Resealed) != fmt.Sprint(want) || len(rep.SealedBy) != 1 || rep.SealedBy[newID] != 258 {
			t.Fatalf("report = %+v", rep)
		}
		if got := strings.Join(heard, " "); got != "clusters=1 webhooks=3 config_items=1 draft_versions=200 draft_versions=252 deployments=1" {
			t.Fatalf("progress = %s", got)
		}

		// Every value is sealed by the new key and opens to what it was, with the new key alone.
		onlyNew := reopen(t, opts, newKey)
		newRing, _ := keyring.New(newKey)
		after := sealedValues(t, onlyNew)
		for aad, v := range after {
			pt, err := newRing.Open(v, aad)
			if keyring.SealedBy(v) != newID || err != nil || string(pt) != plain[aad] {
				t.Fatalf("%s after reseal: sealed by %s, %v, changed %v", aad, keyring.SealedBy(v), err, string(pt) != plain[aad])
			}
		}
		if len(after) != len(before) {
			t.Fatalf("%d sealed values after, %d before", len(after), len(before))
		}
		var valuesBody string
		f.must(onlyNew.Raw().QueryRow(`SELECT body FROM draft_versions WHERE draft_id = $1`, values.ID).Scan(&valuesBody))
		if valuesBody != "replicas: 9\n" {
			t.Fatalf("a values draft was touched: %q", valuesBody)
		}
		// The store's own reads work with the new key alone, and no longer with the old one.
		kc, err := onlyNew.Kubeconfig(ctx, "c1")
		if err != nil || kc.Reveal() != kubeconfig {
			t.Fatalf("kubeconfig: %v", err)
		}
		if _, err := f.db.Kubeconfig(ctx, "c1"); err == nil {
			t.Fatal("the old key alone still opens the kubeconfig")
		}
		hook, err := onlyNew.WebhookTarget(ctx, signed.ID)
		if err != nil || hook.URL != "https://hooks.example.com/x?token=planted-url-token" || hook.Secret != "planted-signing-secret" {
			t.Fatalf("signed webhook: %+v %v", hook, err)
		}
		if hook, err := onlyNew.WebhookTarget(ctx, unsigned.ID); err != nil || hook.Secret != "" || hook.URL != "https://hooks.example.com/y" {
			t.Fatalf("unsigned webhook: %+v %v", hook, err)
		}
		cfg := sqlstore.NewConfigService(onlyNew)
		if c, err := cfg.Config(f.admin, ref("dev", gatehouse.ConfigSecrets)); err != nil || c.Content != "DB_PASSWORD: •••\n" {
			t.Fatalf("app secrets: %+v %v", c, err)
		}
		if d, err := sqlstore.NewDraftService(onlyNew).Draft(f.admin, draft.ID); err != nil || d.Content != "TOKEN: •••\n" || d.Version != 2 {
			t.Fatalf("secrets draft: %+v %v", d, err)
		}
		job, err := onlyNew.ClaimDeployment(ctx, dep.ID, "w", time.Minute)
		if err != nil || job.Secrets["DB_PASSWORD"] != plantedSecret {
			t.Fatalf("deployment secrets: %v %v", job, err)
		}

		// Again: nothing to do. Counting agrees.
		rep, err = both.Reseal(ctx, nil)
		f.must(err)
		for table, n := range rep.Resealed {
			if n != 0 {
				t.Fatalf("second reseal changed %d values of %s", n, table)
			}
		}
		ids, err := onlyNew.SealedKeyIDs(ctx)
		if err != nil || len(ids) != 1 || ids[newID] != 258 {
			t.Fatalf("sealed key ids = %v %v", ids, err)
		}

		// Each run is audited, as the system, with counts and no secret; the chain holds.
		events, err := sqlstore.NewAuditService(onlyNew).AuditEvents(f.admin, gatehouse.AuditFilter{Action: "keys.rotate"})
		f.must(err)
		if len(events) != 2 || events[0].Actor != "system" {
			t.Fatalf("keys.rotate events = %+v", events)
		}
		b, _ := json.Marshal(events)
		for _, secret := range []string{plantedSecret, "planted-signing-secret", "planted-url-token", "draft-v1-secret"} {
			if strings.Contains(string(b), secret) {
				t.Fatalf("the audit trail holds a secret: %s", b)
			}
		}
		if !strings.Contains(string(b), `"draft_versions":252`) {
			t.Fatalf("the audit event lacks the counts: %s", b)
		}
		report, err := sqlstore.NewAuditService(onlyNew).VerifyAudit(f.admin)
		if err != nil || !report.OK {
			t.Fatalf("audit chain: %+v %v", report, err)
		}

		// A keyring that cannot open the values stops at the first, naming it but no value.
		stranger := reopen(t, opts, keyring.NewKey())
		_, err = stranger.Reseal(ctx, nil)
		wantErr(t, err, gatehouse.KindPreconditionFailed, "clusters.kubeconfig_sealed of row", newID)
		if strings.Contains(err.Error(), "planted") {
			t.Fatalf("error holds a secret: %v", err)
		}
	})
}
