package ui

import (
	"context"
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
	Apps     []homeApp
	Projects []string // the projects the person sees, for their metrics
	Waiting  []*gatehouse.ApprovalRequest
	Drafts   []*gatehouse.Draft
	Overdue  []*gatehouse.Review // break-glass reviews past due, until acknowledged
}

func (a *App) home(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var p homePage
	projects, err := a.svc.Projects.Projects(ctx)
	if err != nil {
		return err
	}
	for _, pr := range projects {
		p.Projects = append(p.Projects, pr.Name)
		apps, err := a.svc.Apps.Apps(ctx, pr.Name)
		if err != nil {
			return err
		}
		for _, ap := range apps {
			p.Apps = append(p.Apps, homeApp{Project: pr.Name, App: ap})
		}
	}
	if p.Waiting, err = gatehouse.Items(a.svc.Approvals.Approvals(ctx, gatehouse.ApprovalFilter{ForMe: true, Limit: 20})); err != nil {
		return err
	}
	if p.Drafts, err = gatehouse.Items(a.svc.Drafts.Drafts(ctx, gatehouse.DraftFilter{ForMe: true, Limit: 20})); err != nil {
		return err
	}
	if p.Overdue, err = a.svc.Reviews.Reviews(ctx, gatehouse.ReviewFilter{Overdue: true, Limit: 20}); err != nil {
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
	Window   gatehouse.WindowVerdict     // what the windows say now
	Waiting  []*gatehouse.DeploymentWait // automatic deployments waiting for them
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
	open, err := gatehouse.Items(a.svc.Approvals.Approvals(ctx, gatehouse.ApprovalFilter{Project: project, App: app, State: gatehouse.ApprovalPending, Limit: 200}))
	if err != nil {
		return err
	}
	p := pipelinePage{Project: project, App: app, Artifacts: arts}
	for _, level := range pl.Levels() {
		var col []*stageView
		for _, s := range level {
			v, err := a.stageView(ctx, project, app, s, policies, open)
			if err != nil {
				return err
			}
			v.Window = pl.Windows[s.Name]
			for _, wt := range pl.Waiting {
				if wt.Stage == s.Name {
					v.Waiting = append(v.Waiting, wt)
				}
			}
			col = append(col, v)
		}
		p.Columns = append(p.Columns, col)
	}
	a.render(w, r, http.StatusOK, "pipeline.html", project+"/"+app, p)
	return nil
}

// stageView reads what runs on a stage and what gates it.
func (a *App) stageView(ctx context.Context, project, app string, s gatehouse.Stage, policies []*gatehouse.Policy, open []*gatehouse.ApprovalRequest) (*stageView, error) {
	v := &stageView{Stage: s}
	deps, err := gatehouse.Items(a.svc.Deployments.Deployments(ctx, project, app, gatehouse.DeploymentFilter{Environment: s.Environment, Limit: 20}))
	if err != nil {
		return nil, err
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
		if pol.Reaches(gatehouse.PolicyImage, target) {
			for _, rule := range pol.Rules {
				v.Gate = append(v.Gate, pol.Name+": "+rule.String())
			}
		}
	}
	for _, req := range open {
		if req.Environment == s.Environment {
			v.Open = append(v.Open, req)
		}
	}
	return v, nil
}
