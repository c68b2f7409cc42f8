package httpapi_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/client"
	"github.com/gatehousehq/gatehouse/internal/testdb"
	"github.com/gatehousehq/gatehouse/internal/testserver"
)

// TestLabelsAreFixedAtPush is the attack of issue 11, finding 11: prod's policy asks for
// artifact.labels["tests"] == "passed", and a deployer who pushed an artifact without that
// label tries to add it afterwards. The PATCH is refused with 400 naming set_labels (and
// remove_labels), the condition still fails; a note of the same name is kept and shown, but
// no condition reads it.
func TestLabelsAreFixedAtPush(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		srv := testserver.Start(t, engine)
		srv.Setup(
			testserver.Post("/api/v1/projects", gatehouse.ProjectCreate{Name: "shop"}),
			testserver.Post("/api/v1/clusters", gatehouse.ClusterCreate{Name: "c1", Kubeconfig: gatehouse.OutgoingSecret(kubeconfig)}),
			testserver.Post("/api/v1/projects/shop/environments", gatehouse.EnvironmentCreate{Name: "prod", Cluster: "c1", Namespace: "shop"}),
			testserver.Post("/api/v1/projects/shop/apps", gatehouse.AppCreate{Name: "web"}),
			testserver.Put("/api/v1/projects/shop/apps/web/pipeline", gatehouse.PipelineSet{Stages: []gatehouse.Stage{{Environment: "prod"}}}),
			testserver.Post("/api/v1/policies", gatehouse.PolicySpec{Name: "prod-gate", Scope: "project:shop/env:prod",
				Rules: []gatehouse.Rule{{Kind: "any", Count: 1}}, Conditions: []string{`artifact.labels["tests"] == "passed"`}}),
		)
		dora := srv.Person("dora", "deployer@project:shop")
		ctx := t.Context()
		art := "/api/v1/projects/shop/apps/web/artifacts/" + digest1
		srv.Must(dora.Do(ctx, "POST", "/api/v1/projects/shop/apps/web/artifacts", nil,
			gatehouse.ArtifactCreate{Image: "r.example.com/web@" + digest1, Labels: map[string]string{"team": "checkout"}}, nil))
		request := func() error {
			return dora.Do(ctx, "POST", "/api/v1/projects/shop/apps/web/approvals", nil, gatehouse.ApprovalCreate{Environment: "prod", Digest: digest1}, nil)
		}
		conditionFails := func(when string) {
			t.Helper()
			var re *client.RequestError
			if err := request(); !errors.As(err, &re) || re.Status != 412 || !strings.Contains(re.Err.Message, `artifact.labels["tests"] == "passed"`) {
				t.Fatalf("%s: approval request = %v, want 412 naming the condition", when, err)
			}
		}
		conditionFails("as pushed")

		for field, body := range map[string]map[string]any{
			"set_labels":    {"set_labels": map[string]string{"tests": "passed"}},
			"remove_labels": {"remove_labels": []string{"team"}},
		} {
			err := dora.Do(ctx, "PATCH", art, nil, body, nil)
			var re *client.RequestError
			if !errors.As(err, &re) || re.Status != 400 || re.Err.Field != field ||
				!strings.Contains(re.Err.Message, "labels are fixed at push") || !strings.Contains(re.Err.Message, "set_notes") {
				t.Fatalf("PATCH %s = %v, want 400 naming %s and pointing to set_notes", field, err, field)
			}
		}
		var got map[string]any
		srv.Must(dora.Do(ctx, "GET", art, nil, nil, &got))
		if labels, _ := got["labels"].(map[string]any); len(labels) != 1 || labels["team"] != "checkout" {
			t.Fatalf("labels after refused changes = %v", got["labels"])
		}
		conditionFails("after set_labels was refused")

		srv.Must(dora.Do(ctx, "PATCH", art, nil, map[string]any{"set_notes": map[string]string{"tests": "passed", "ticket": "OPS-1"}}, &got))
		if notes, _ := got["notes"].(map[string]any); notes["tests"] != "passed" || notes["ticket"] != "OPS-1" {
			t.Fatalf("notes after set_notes = %v", got)
		}
		if labels, _ := got["labels"].(map[string]any); labels["tests"] != nil {
			t.Fatalf("a note became a label: %v", got)
		}
		conditionFails("with a note tests=passed")
		srv.Must(dora.Do(ctx, "PATCH", art, nil, map[string]any{"remove_notes": []string{"ticket"}}, &got))
		if notes, _ := got["notes"].(map[string]any); len(notes) != 1 {
			t.Fatalf("notes after remove_notes = %v", got["notes"])
		}
	})
}
