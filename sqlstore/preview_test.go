package sqlstore_test

import (
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

// TestPreview: before anything runs, a preview shows the whole image and values as added;
// after a deployment succeeds, only what differs from it (a new digest, changed values); bad
// input names its field; people who cannot see the environment learn nothing of it.
func TestPreview(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		_, deps := f.pipelineWorld()
		_, err := f.arts.CreateArtifact(f.admin, "shop", "web", gatehouse.ArtifactCreate{Image: "r.example.com/web:1.1@" + digest2})
		f.must(err)
		first, err := deps.Preview(f.admin, "shop", "web", gatehouse.DeploymentCreate{Environment: "prod", Digest: digest1})
		f.must(err)
		if first.Previous != nil || first.ImageChange == nil || first.ImageChange.New != "r.example.com/web@"+digest1 || !hasChange(first.Changes, "replicas", "", "5") {
			t.Fatalf("first preview = %+v", first)
		}
		d, err := deps.Deploy(f.admin, "shop", "web", gatehouse.DeploymentCreate{Environment: "prod", Digest: digest1})
		f.must(err)
		f.exec(`UPDATE deployments SET state = 'succeeded' WHERE id = $1`, d.ID)
		same, err := deps.Preview(f.admin, "shop", "web", gatehouse.DeploymentCreate{Environment: "prod", Digest: digest1})
		f.must(err)
		if same.Previous == nil || same.Previous.ID != d.ID || same.ImageChange != nil || len(same.Changes) != 0 {
			t.Fatalf("preview of what runs = %+v", same)
		}
		_, err = f.apps.SetOverrides(f.admin, "shop", "web", "prod", "replicas: 7\n")
		f.must(err)
		next, err := deps.Preview(f.admin, "shop", "web", gatehouse.DeploymentCreate{Environment: "prod", Digest: digest2})
		f.must(err)
		if next.ImageChange == nil || !strings.HasSuffix(next.ImageChange.Old, digest1) || !strings.HasSuffix(next.ImageChange.New, digest2) ||
			!hasChange(next.Changes, "replicas", "5", "7") {
			t.Fatalf("preview of a new digest and values = %+v", next)
		}
		_, err = deps.Preview(f.admin, "shop", "web", gatehouse.DeploymentCreate{Environment: "prod", Digest: "latest"})
		wantErr(t, err, gatehouse.KindInvalid, "digest")
		_, err = deps.Preview(f.admin, "shop", "web", gatehouse.DeploymentCreate{Digest: digest1})
		wantErr(t, err, gatehouse.KindInvalid, "environment", "is required")
		devOnly := f.person("dora", "viewer@project:shop/env:dev")
		_, err = deps.Preview(devOnly, "shop", "web", gatehouse.DeploymentCreate{Environment: "prod", Digest: digest1})
		wantErr(t, err, gatehouse.KindNotFound)
	})
}

func hasChange(changes []gatehouse.ValueChange, path, old, new string) bool {
	for _, c := range changes {
		if c.Path == path && c.Old == old && c.New == new {
			return true
		}
	}
	return false
}
