package ui

import (
	"net/http"
	"slices"

	"github.com/gatehousehq/gatehouse"
)

func (a *App) homeRoutes() []Route {
	return []Route{
		{"GET /ui/{$}", a.user(a.home)},
		{"GET /ui/projects/{project}/apps/{app}", a.user(a.pipeline)},
	}
}

type homeApp struct {
	Project string
	App     *gatehouse.App
}

type homePage struct {
	Apps    []homeApp
	Waiting []*gatehouse.ApprovalRequest
	Drafts  []*gatehouse.ConfigDraft
}

func (a *App) home(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var p homePage
	projects, err := a.svc.Projects.Projects(ctx)
	if err != nil {
		return err
	}
	for _, pr := range projects {
		apps, err := a.svc.Apps.Apps(ctx, pr.Name)
		if err != nil {
			return err
		}
		for _, ap := range apps {
			p.Apps = append(p.Apps, homeApp{Project: pr.Name, App: ap})
		}
	}
	if p.Waiting, err = a.svc.Approvals.Approvals(ctx, gatehouse.ApprovalFilter{ForMe: true, Limit: 20}); err != nil {
		return err
	}
	if p.Drafts, err = a.svc.Config.ConfigDrafts(ctx, gatehouse.DraftFilter{ForMe: true, Limit: 20}); err != nil {
		return err
	}
	a.render(w, r, http.StatusOK, "home.html", "Apps", p)
	return nil
}

// stageView is one stage of the pipeline graph with what is deployed there and its gate.
type stageView struct {
	gatehouse.Stage
	Current  *gatehouse.Deployment // the newest deployment
	Live     *gatehouse.Deployment // the newest successful one
	Artifact *gatehouse.Artifact   // what Live runs
	Gate     []string              // the image policies' rules
	Open     []*gatehouse.ApprovalRequest
}

type pipelinePage struct {
	Project, App string
	Columns      [][]*stageView // by distance from the source
	Artifacts    []*gatehouse.Artifact
}

func (a *App) pipeline(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	project, app := r.PathValue("project"), r.PathValue("app")
	pl, err := a.svc.Pipelines.Pipeline(ctx, project, app)
	if err != nil {
		return err
	}
	arts, err := a.svc.Artifacts.Artifacts(ctx, project, app, gatehouse.ArtifactFilter{Limit: 50})
	if err != nil {
		return err
	}
	policies, err := a.svc.Policies.Policies(ctx, project)
	if err != nil {
		return err
	}
	open, err := a.svc.Approvals.Approvals(ctx, gatehouse.ApprovalFilter{Project: project, App: app, State: gatehouse.ApprovalPending, Limit: 200})
	if err != nil {
		return err
	}
	depth := map[string]int{}
	var stageDepth func(s gatehouse.Stage) int
	byName := map[string]gatehouse.Stage{}
	for _, s := range pl.Stages {
		byName[s.Name] = s
	}
	stageDepth = func(s gatehouse.Stage) int {
		if d, ok := depth[s.Name]; ok {
			return d
		}
		d := 0
		if prev, ok := byName[s.After]; ok && s.After != "" {
			depth[s.Name] = 0 // guards a malformed cycle
			d = stageDepth(prev) + 1
		}
		depth[s.Name] = d
		return d
	}
	p := pipelinePage{Project: project, App: app, Artifacts: arts}
	for _, s := range pl.Stages {
		v := &stageView{Stage: s}
		deps, err := a.svc.Deployments.Deployments(ctx, project, app, gatehouse.DeploymentFilter{Environment: s.Environment, Limit: 20})
		if err != nil {
			return err
		}
		if len(deps) > 0 {
			v.Current = deps[0]
		}
		if i := slices.IndexFunc(deps, func(d *gatehouse.Deployment) bool { return d.State == gatehouse.StateSucceeded }); i >= 0 {
			v.Live = deps[i]
			v.Artifact, _ = a.svc.Artifacts.Artifact(ctx, project, app, deps[i].Digest)
		}
		target := gatehouse.Target{Project: project, App: app, Env: s.Environment}
		for _, pol := range policies {
			if !pol.Reaches(gatehouse.PolicyImage, target) {
				continue
			}
			for _, rule := range pol.Rules {
				v.Gate = append(v.Gate, pol.Name+": "+rule.String())
			}
		}
		for _, req := range open {
			if req.Environment == s.Environment {
				v.Open = append(v.Open, req)
			}
		}
		d := stageDepth(s)
		for len(p.Columns) <= d {
			p.Columns = append(p.Columns, nil)
		}
		p.Columns[d] = append(p.Columns[d], v)
	}
	a.render(w, r, http.StatusOK, "pipeline.html", project+"/"+app, p)
	return nil
}
