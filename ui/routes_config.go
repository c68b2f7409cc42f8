package ui

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/gatehousehq/gatehouse"
)

func (a *App) configRoutes() []Route {
	cfg := "/ui/projects/{project}/apps/{app}/config"
	return []Route{
		{"GET " + cfg, a.user(a.configOverview)},
		{"GET " + cfg + "/compare", a.user(a.configCompare)},
		{"GET " + cfg + "/edit", a.user(a.configEditPage)},
		{"POST " + cfg + "/edit", a.user(a.configEdit)},
	}
}

// subjectRow is one row of the configuration page: a configuration resource or a gated
// setting as it is live (protected or not, by which policies, its open draft), with what the
// row shows of a setting.
type subjectRow struct {
	*gatehouse.Live
	Label  string // what the row is: values, configmap, secrets, placement, chart, hooks or pipeline
	Edit   string // the edit page of the subject
	Env    *gatehouse.Environment
	Chart  gatehouse.Chart
	Hooks  gatehouse.Hooks
	Stages []gatehouse.Stage
}

// configEnv is one environment's placement and configuration resources.
type configEnv struct {
	Env  *gatehouse.Environment
	Rows []*subjectRow
}

type configPage struct {
	Project, App string
	Settings     []*subjectRow // the app's chart, hooks and pipeline
	Base         *subjectRow
	Envs         []configEnv
	Names        []string // the environments, for the compare form
	From, To     string
	Change       *gatehouse.ConfigChange
}

// configBase reads the app's base values and the project's environment names.
func (a *App) configBase(r *http.Request) (*configPage, []*gatehouse.Environment, error) {
	ctx := r.Context()
	p := &configPage{Project: r.PathValue("project"), App: r.PathValue("app")}
	var err error
	if p.Base, err = a.subjectRow(ctx, p, gatehouse.DraftRef{Kind: gatehouse.DraftValues, Project: p.Project, App: p.App}); err != nil {
		return nil, nil, err
	}
	if p.Base == nil {
		return nil, nil, gatehouse.NotFoundf("app %s/%s not found", p.Project, p.App)
	}
	envs, err := a.svc.Environments.Environments(ctx, p.Project)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range envs {
		p.Names = append(p.Names, e.Name)
	}
	return p, envs, nil
}

// subjectRow reads a subject as it is live; nil when the person may not see it.
func (a *App) subjectRow(ctx context.Context, p *configPage, ref gatehouse.DraftRef) (*subjectRow, error) {
	live, err := a.svc.Drafts.Live(ctx, ref)
	if k := gatehouse.KindOf(err); k == gatehouse.KindNotFound || k == gatehouse.KindForbidden {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	q := url.Values{"kind": {string(ref.Kind)}}
	if ref.Environment != "" {
		q.Set("env", ref.Environment)
	}
	row := &subjectRow{Live: live, Label: string(ref.Kind),
		Edit: fmt.Sprintf("/ui/projects/%s/apps/%s/config/edit?%s", url.PathEscape(p.Project), url.PathEscape(p.App), q.Encode())}
	if ref.Kind == gatehouse.DraftEnvironment {
		row.Label = "placement"
	}
	return row, nil
}

func (a *App) configOverview(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, envs, err := a.configBase(r)
	if err != nil {
		return err
	}
	app, err := a.svc.Apps.App(ctx, p.Project, p.App)
	if err != nil {
		return err
	}
	pl, err := a.svc.Pipelines.Pipeline(ctx, p.Project, p.App)
	if err != nil {
		return err
	}
	for _, kind := range []gatehouse.DraftKind{gatehouse.DraftChart, gatehouse.DraftHooks, gatehouse.DraftPipeline} {
		row, err := a.subjectRow(ctx, p, gatehouse.DraftRef{Kind: kind, Project: p.Project, App: p.App})
		if err != nil {
			return err
		}
		if row != nil {
			row.Chart, row.Hooks, row.Stages = app.Chart, app.Hooks, pl.Stages
			p.Settings = append(p.Settings, row)
		}
	}
	for _, e := range envs {
		ce := configEnv{Env: e}
		refs := []gatehouse.DraftRef{{Kind: gatehouse.DraftEnvironment, Project: p.Project, Environment: e.Name}}
		for _, k := range gatehouse.ConfigKinds {
			refs = append(refs, gatehouse.ConfigRef{Project: p.Project, App: p.App, Environment: e.Name, Kind: k}.Draft())
		}
		for _, ref := range refs {
			row, err := a.subjectRow(ctx, p, ref)
			if err != nil {
				return err
			}
			if row != nil { // else not an environment this person may see
				row.Env = e
				ce.Rows = append(ce.Rows, row)
			}
		}
		if len(ce.Rows) > 0 {
			p.Envs = append(p.Envs, ce)
		}
	}
	if len(p.Names) > 1 {
		p.From, p.To = p.Names[0], p.Names[len(p.Names)-1]
	}
	a.render(w, r, http.StatusOK, "config.html", p.Project+"/"+p.App+" configuration", p)
	return nil
}

func (a *App) configCompare(w http.ResponseWriter, r *http.Request) error {
	p, _, err := a.configBase(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	p.From, p.To = q.Get("from"), q.Get("to")
	if p.Change, err = a.svc.Config.CompareConfig(r.Context(), p.Project, p.App, p.From, p.To); err != nil {
		return err
	}
	a.render(w, r, http.StatusOK, "config-compare.html", p.From+" → "+p.To, p)
	return nil
}
