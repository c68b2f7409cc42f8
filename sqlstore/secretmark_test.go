package sqlstore_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// probe is what someone who can write dev's secrets sees after setting dev's X to a guess of
// prod's: the environments compared, and a new dev deployment diffed with prod's.
type probe struct {
	compare, diff string
	dev           *gatehouse.Deployment
}

// TestSecretMarksRevealNothingAcrossEnvironments is the attack of issue 11, finding 10: a
// person who may write dev's secrets sets dev's X to a guess of prod's X and compares. Whether
// the guess is right or wrong, comparing dev with prod and diffing a dev deployment with a
// prod deployment must look exactly the same, and no change row may name X (it is set in
// both); within dev, deployments still show that X changed, and that it did not.
func TestSecretMarksRevealNothingAcrossEnvironments(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		w := newConfigWorld(t, engine)
		secrets := func(env, content string) {
			t.Helper()
			_, err := w.config.SetConfig(w.admin, ref(env, gatehouse.ConfigSecrets), gatehouse.ConfigWrite{Content: content})
			w.must(err)
		}
		deploy := func(env string) *gatehouse.Deployment {
			t.Helper()
			d, err := w.deps.Deploy(w.admin, "shop", "web", gatehouse.DeploymentCreate{Environment: env, Digest: digest1})
			w.must(err)
			w.exec(`UPDATE deployments SET state = 'succeeded' WHERE id = $1`, d.ID)
			return d
		}
		secrets("prod", "X: v\n")
		prod := deploy("prod")
		try := func(guess string) probe {
			t.Helper()
			secrets("dev", "X: "+guess+"\nONLY_DEV: y\n")
			cmp, err := w.config.CompareConfig(w.admin, "shop", "web", "dev", "prod")
			w.must(err)
			dev := deploy("dev")
			diff, err := w.deps.DiffDeployments(w.admin, "shop", "web", dev.ID, prod.ID)
			w.must(err)
			c, _ := json.Marshal(cmp)
			d, _ := json.Marshal([]any{diff.Image, diff.Changes})
			for _, changes := range [][]gatehouse.ValueChange{cmp.Changes, diff.Changes} {
				if !hasChange(changes, "secrets.ONLY_DEV", gatehouse.Masked, "") {
					t.Fatalf("guess %q: a key set in one environment only is not shown removed: %+v", guess, changes)
				}
				for _, ch := range changes {
					if ch.Path == "secrets.X" {
						t.Fatalf("guess %q: a secret set in both environments shows a change: %+v", guess, ch)
					}
				}
			}
			return probe{compare: string(c), diff: string(d), dev: dev}
		}
		right, wrong := try("v"), try("w")
		if right.compare != wrong.compare {
			t.Fatalf("comparing dev with prod tells a right guess from a wrong one:\n%s\n%s", right.compare, wrong.compare)
		}
		if right.diff != wrong.diff {
			t.Fatalf("diffing a dev deployment with a prod one tells a right guess from a wrong one:\n%s\n%s", right.diff, wrong.diff)
		}
		// The marks themselves differ for the same value in two environments.
		if devMark, prodMark := storedMark(w.fixture, right.dev.ID, "X"), storedMark(w.fixture, prod.ID, "X"); devMark == prodMark {
			t.Fatalf("the same value has the same mark in dev and prod: %s", devMark)
		}

		// Within dev, a changed secret still shows, and an unchanged one does not.
		if !hasChange(wrong.dev.ConfigChanges, "secrets.X", gatehouse.Masked, gatehouse.Masked+" changed") {
			t.Fatalf("config changed since the last deployment = %+v", wrong.dev.ConfigChanges)
		}
		diff, err := w.deps.DiffDeployments(w.admin, "shop", "web", right.dev.ID, wrong.dev.ID)
		w.must(err)
		if len(diff.Changes) != 1 || !hasChange(diff.Changes, "secrets.X", gatehouse.Masked, gatehouse.Masked+" changed") {
			t.Fatalf("diff of two dev deployments = %+v", diff.Changes)
		}
		secrets("dev", "X: v\nONLY_DEV: y\n")
		again := deploy("dev")
		diff, err = w.deps.DiffDeployments(w.admin, "shop", "web", right.dev.ID, again.ID)
		w.must(err)
		if len(diff.Changes) != 0 {
			t.Fatalf("the same secrets in the same environment show changes: %+v", diff.Changes)
		}
		if b, _ := json.Marshal([]any{right.dev, wrong.dev, again, diff}); strings.Contains(string(b), "mark:") {
			t.Fatalf("a mark left the store: %s", b)
		}
	})
}

// storedMark reads the mark a deployment's row keeps for a secret key.
func storedMark(f *fixture, id int64, key string) string {
	f.t.Helper()
	var text string
	if err := f.db.Raw().QueryRow(`SELECT values_yaml FROM deployments WHERE id = $1`, id).Scan(&text); err != nil {
		f.t.Fatal(err)
	}
	v, err := gatehouse.ParseValues("values", text)
	f.must(err)
	sec, _ := v[gatehouse.SecretValuesKey].(map[string]any)
	mark, _ := sec[key].(string)
	if mark == "" {
		f.t.Fatalf("deployment %d keeps no mark for %s:\n%s", id, key, text)
	}
	return mark
}
