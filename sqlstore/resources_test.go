package sqlstore_test

import (
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/testdb"
)

func TestProjects(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		p, err := f.projects.CreateProject(f.admin, gatehouse.ProjectCreate{Name: "shop", Description: "the shop"})
		f.must(err)
		if p.ID == 0 || !p.CreatedAt.Equal(f.clock.Now()) {
			t.Fatalf("created %+v", p)
		}
		_, err = f.projects.CreateProject(f.admin, gatehouse.ProjectCreate{Name: "shop"})
		wantErr(t, err, gatehouse.KindConflict, `project "shop" already exists`)
		_, err = f.projects.CreateProject(f.admin, gatehouse.ProjectCreate{Name: "Bad Name"})
		wantErr(t, err, gatehouse.KindInvalid, "name:", "expected lowercase")

		desc := "new words"
		f.clock.Advance(1e9)
		up, err := f.projects.UpdateProject(f.admin, "shop", gatehouse.ProjectUpdate{Description: &desc})
		f.must(err)
		got, err := f.projects.Project(f.admin, "shop")
		f.must(err)
		if got.Description != desc || !got.UpdatedAt.Equal(up.UpdatedAt) || !got.UpdatedAt.After(got.CreatedAt) {
			t.Fatalf("after update: %+v", got)
		}
		_, err = f.projects.CreateProject(f.admin, gatehouse.ProjectCreate{Name: "bank"})
		f.must(err)
		list, err := f.projects.Projects(f.admin)
		f.must(err)
		if len(list) != 2 || list[0].Name != "bank" || list[1].Name != "shop" {
			t.Fatalf("list = %v", list)
		}
		f.must(f.projects.DeleteProject(f.admin, "bank"))
		_, err = f.projects.Project(f.admin, "bank")
		wantErr(t, err, gatehouse.KindNotFound)
		wantErr(t, f.projects.DeleteProject(f.admin, "bank"), gatehouse.KindNotFound)
	})
}

func TestClusterCredentialsStayEncrypted(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		c, err := f.clusters.CreateCluster(f.admin, gatehouse.ClusterCreate{Name: "c1", Kubeconfig: gatehouse.NewSecret(kubeconfig)})
		f.must(err)
		if c.Server != "https://127.0.0.1:6443" {
			t.Fatalf("server = %q", c.Server)
		}
		kc, err := f.db.Kubeconfig(f.admin, "c1")
		f.must(err)
		if kc.Reveal() != kubeconfig {
			t.Fatal("kubeconfig does not round-trip")
		}
		if n := f.countRows(`SELECT COUNT(*) FROM clusters WHERE kubeconfig_sealed LIKE '%planted-secret%' OR kubeconfig_sealed LIKE '%apiVersion%'`); n != 0 {
			t.Fatal("kubeconfig stored in clear")
		}
		if n := f.countRows(`SELECT COUNT(*) FROM audit_events WHERE COALESCE(after_json, '') || COALESCE(details, '') LIKE '%planted-secret%'`); n != 0 {
			t.Fatal("kubeconfig in the audit trail")
		}
		// A sealed value copied to another row does not open there.
		_, err = f.clusters.CreateCluster(f.admin, gatehouse.ClusterCreate{Name: "c2", Kubeconfig: gatehouse.NewSecret(kubeconfig)})
		f.must(err)
		f.exec(`UPDATE clusters SET kubeconfig_sealed = (SELECT kubeconfig_sealed FROM clusters WHERE name = 'c1') WHERE name = 'c2'`)
		if _, err := f.db.Kubeconfig(f.admin, "c2"); err == nil {
			t.Fatal("a kubeconfig moved between clusters still opens")
		}
		_, err = f.clusters.CreateCluster(f.admin, gatehouse.ClusterCreate{Name: "c3", Kubeconfig: gatehouse.NewSecret("nope: [")})
		wantErr(t, err, gatehouse.KindInvalid, "kubeconfig:", "not valid YAML")
	})
}

func TestEnvironments(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		f.world()
		_, err := f.envs.CreateEnvironment(f.admin, "shop", gatehouse.EnvironmentCreate{Name: "qa", Cluster: "ghost", Namespace: "qa"})
		wantErr(t, err, gatehouse.KindInvalid, "cluster:", `"ghost" is not registered`)
		_, err = f.envs.CreateEnvironment(f.admin, "shop", gatehouse.EnvironmentCreate{Name: "qa", Cluster: "c1", Namespace: "shop-dev"})
		wantErr(t, err, gatehouse.KindConflict, "already environment shop/dev")
		_, err = f.envs.CreateEnvironment(f.admin, "shop", gatehouse.EnvironmentCreate{Name: "dev", Cluster: "c1", Namespace: "other"})
		wantErr(t, err, gatehouse.KindConflict, `environment "dev" already exists`)
		_, err = f.envs.CreateEnvironment(f.admin, "nope", gatehouse.EnvironmentCreate{Name: "qa", Cluster: "c1", Namespace: "qa"})
		wantErr(t, err, gatehouse.KindNotFound, `project "nope"`)

		ns, prod := "shop-dev-2", true
		e, err := f.envs.UpdateEnvironment(f.admin, "shop", "dev", gatehouse.EnvironmentUpdate{Namespace: &ns, Production: &prod})
		f.must(err)
		if e.Namespace != ns || !e.Production {
			t.Fatalf("update: %+v", e)
		}
		// Moving onto a namespace another environment holds is refused.
		taken := "shop-prod"
		_, err = f.envs.UpdateEnvironment(f.admin, "shop", "dev", gatehouse.EnvironmentUpdate{Namespace: &taken})
		wantErr(t, err, gatehouse.KindConflict, "shop/prod")
		list, err := f.envs.Environments(f.admin, "shop")
		f.must(err)
		if len(list) != 3 || list[0].Name != "dev" || list[0].Namespace != ns {
			t.Fatalf("list = %+v", list)
		}
		wantErr(t, f.clusters.DeleteCluster(f.admin, "c1"), gatehouse.KindConflict, "used by 3 environments")
		wantErr(t, f.projects.DeleteProject(f.admin, "shop"), gatehouse.KindConflict, "1 apps and 3 environments")
	})
}

func TestAppsAndPipelines(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		f.world()
		_, err := f.apps.CreateApp(f.admin, "shop", gatehouse.AppCreate{Name: "api", Values: "- not a map"})
		wantErr(t, err, gatehouse.KindInvalid, "values:", "YAML mapping")
		_, err = f.apps.CreateApp(f.admin, "shop", gatehouse.AppCreate{Name: "api", Chart: gatehouse.Chart{Source: "oci", URL: "https://x"}})
		wantErr(t, err, gatehouse.KindInvalid, "chart.url")
		app, err := f.apps.CreateApp(f.admin, "shop", gatehouse.AppCreate{Name: "api", Chart: gatehouse.Chart{Source: "oci", URL: "oci://r.example.com/charts/api", Version: "1.0.0"}})
		f.must(err)
		got, err := f.apps.App(f.admin, "shop", "api")
		f.must(err)
		if got.Chart != app.Chart || got.Chart.Version != "1.0.0" {
			t.Fatalf("chart round trip: %+v", got.Chart)
		}
		web, err := f.apps.App(f.admin, "shop", "web")
		f.must(err)
		if web.Chart.Source != gatehouse.ChartBuiltin || web.Values != "replicas: 2\n" {
			t.Fatalf("defaults: %+v", web)
		}

		empty, err := f.pipes.Pipeline(f.admin, "shop", "web")
		f.must(err)
		if len(empty.Stages) != 0 {
			t.Fatalf("new app has stages: %+v", empty)
		}
		_, err = f.pipes.SetPipeline(f.admin, "shop", "web", gatehouse.PipelineSet{Stages: []gatehouse.Stage{{Environment: "dev"}, {Environment: "qa", After: "dev"}}})
		wantErr(t, err, gatehouse.KindInvalid, "stages[1].environment", `"qa" does not exist`)
		set := gatehouse.PipelineSet{Stages: []gatehouse.Stage{
			{Environment: "dev", Trigger: "auto"}, {Environment: "stage", After: "dev", Trigger: "auto"}, {Environment: "prod", After: "stage"}}}
		_, err = f.pipes.SetPipeline(f.admin, "shop", "web", set)
		f.must(err)
		p, err := f.pipes.Pipeline(f.admin, "shop", "web")
		f.must(err)
		if len(p.Stages) != 3 || p.Stages[2].Name != "prod" || p.Stages[2].After != "stage" || p.Stages[2].Trigger != gatehouse.TriggerManual || p.Stages[0].Trigger != gatehouse.TriggerAuto {
			t.Fatalf("pipeline = %+v", p.Stages)
		}
		wantErr(t, f.envs.DeleteEnvironment(f.admin, "shop", "prod"), gatehouse.KindConflict, "stage of the pipelines of apps [web]")
		f.must(f.apps.DeleteApp(f.admin, "shop", "web"))
		f.must(f.envs.DeleteEnvironment(f.admin, "shop", "prod"))
	})
}

const (
	digest1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	digest2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

func TestArtifacts(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		f.world()
		a1, err := f.arts.CreateArtifact(f.admin, "shop", "web", gatehouse.ArtifactCreate{
			Image: "registry.example.com/shop/web:1.0@" + digest1, Tags: []string{"stable"}, Commit: "abcdef1",
			Labels: map[string]string{"team": "shop"}})
		f.must(err)
		if a1.Builder != "admin" || a1.CreatedBy != "admin" || len(a1.Tags) != 2 || a1.Reference() != "registry.example.com/shop/web@"+digest1 {
			t.Fatalf("artifact = %+v", a1)
		}
		_, err = f.arts.CreateArtifact(f.admin, "shop", "web", gatehouse.ArtifactCreate{Image: "registry.example.com/shop/web@" + digest1})
		wantErr(t, err, gatehouse.KindConflict, "already registered")
		_, err = f.arts.CreateArtifact(f.admin, "shop", "web", gatehouse.ArtifactCreate{Image: "registry.example.com/shop/web:2.0"})
		wantErr(t, err, gatehouse.KindInvalid, "image:", "no digest")
		_, err = f.arts.CreateArtifact(f.admin, "shop", "web", gatehouse.ArtifactCreate{Image: "registry.example.com/shop/web@" + digest2, Builder: "someone-else"})
		wantErr(t, err, gatehouse.KindInvalid, "builder:", "a person pushing an artifact is its builder")

		// Pushing a new digest with tag "stable" moves the tag, and the audit trail says from where.
		a2, err := f.arts.CreateArtifact(f.admin, "shop", "web", gatehouse.ArtifactCreate{Image: "registry.example.com/shop/web@" + digest2, Tags: []string{"stable"}})
		f.must(err)
		again, err := f.arts.Artifact(f.admin, "shop", "web", digest1)
		f.must(err)
		if len(again.Tags) != 1 || again.Tags[0] != "1.0" {
			t.Fatalf("tag did not move: %v", again.Tags)
		}
		byTag, err := f.arts.Artifacts(f.admin, "shop", "web", gatehouse.ArtifactFilter{Tag: "stable"})
		f.must(err)
		if len(byTag) != 1 || byTag[0].Digest != a2.Digest {
			t.Fatalf("stable = %+v", byTag)
		}
		ev, err := f.audit.AuditEvents(f.admin, gatehouse.AuditFilter{Action: "artifact.create", Project: "shop"})
		f.must(err)
		if len(ev) != 2 || string(ev[1].Details) != `{"moved_tags":{"stable":"`+digest1+`"}}` {
			t.Fatalf("audit of tag move: %d events, details %s", len(ev), ev[len(ev)-1].Details)
		}

		up, err := f.arts.UpdateArtifact(f.admin, "shop", "web", digest1, gatehouse.ArtifactUpdate{
			AddTags: []string{"canary"}, RemoveTags: []string{"1.0"}, SetNotes: map[string]string{"qa": "passed", "team": "x"}, RemoveNotes: []string{"team"}})
		f.must(err)
		if len(up.Tags) != 1 || up.Tags[0] != "canary" || len(up.Notes) != 1 || up.Notes["qa"] != "passed" || len(up.Labels) != 1 || up.Labels["team"] != "shop" {
			t.Fatalf("update = %+v", up)
		}
		// Notes are audited as labels were: the artifact before and after.
		ev, err = f.audit.AuditEvents(f.admin, gatehouse.AuditFilter{Action: "artifact.update", Project: "shop"})
		f.must(err)
		if len(ev) != 1 || !strings.Contains(string(ev[0].Before), `"notes":{}`) || !strings.Contains(string(ev[0].After), `"notes":{"qa":"passed"}`) {
			t.Fatalf("audit of notes: %+v", ev)
		}
		_, err = f.arts.UpdateArtifact(f.admin, "shop", "web", digest1, gatehouse.ArtifactUpdate{SetLabels: map[string]string{"qa": "passed"}})
		wantErr(t, err, gatehouse.KindInvalid, "set_labels", "labels are fixed at push", "set_notes")
		_, err = f.arts.UpdateArtifact(f.admin, "shop", "web", digest1, gatehouse.ArtifactUpdate{SetNotes: map[string]string{"Bad Key": "x"}})
		wantErr(t, err, gatehouse.KindInvalid, "set_notes", "Bad Key")
		r, err := f.arts.RetractArtifact(f.admin, "shop", "web", digest1)
		f.must(err)
		if r.RetractedAt == nil || r.RetractedBy != "admin" || len(r.Tags) != 0 {
			t.Fatalf("retract = %+v", r)
		}
		_, err = f.arts.UpdateArtifact(f.admin, "shop", "web", digest1, gatehouse.ArtifactUpdate{AddTags: []string{"x"}})
		wantErr(t, err, gatehouse.KindPreconditionFailed, "retracted")
		live, err := f.arts.Artifacts(f.admin, "shop", "web", gatehouse.ArtifactFilter{})
		f.must(err)
		all, err := f.arts.Artifacts(f.admin, "shop", "web", gatehouse.ArtifactFilter{IncludeRetracted: true})
		f.must(err)
		if len(live) != 1 || len(all) != 2 || all[0].Digest != digest2 {
			t.Fatalf("live %d, all %d", len(live), len(all))
		}
		_, err = f.arts.Artifact(f.admin, "shop", "web", "latest")
		wantErr(t, err, gatehouse.KindInvalid, "digest:")
	})
}

func TestServiceAccountDeclaresBuilder(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		f.world()
		ci := f.serviceAccount("ci", "deployer@project:shop/app:web")
		art, err := f.arts.CreateArtifact(ci, "shop", "web", gatehouse.ArtifactCreate{Image: "r.example.com/web@" + digest1, Builder: "dora"})
		f.must(err)
		if art.Builder != "dora" || art.CreatedBy != "ci" {
			t.Fatalf("artifact = %+v", art)
		}
	})
}
