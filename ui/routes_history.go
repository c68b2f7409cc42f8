package ui

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/gatehousehq/gatehouse"
)

func (a *App) historyRoutes() []Route {
	const app = "/ui/projects/{project}/apps/{app}"
	return []Route{
		{"GET " + app + "/history", a.user(a.history)},
		{"GET " + app + "/history/compare", a.user(a.compareDeployments)},
		{"GET " + app + "/deployments/{id}/rollback", a.user(a.rollbackPage)},
		{"POST " + app + "/deployments/{id}/rollback", a.user(a.rollback)},
	}
}

// historyLimit is how many deployments a page of the history lists.
const historyLimit = 50

type historyPage struct {
	Project, App, Env string
	Environments      []*gatehouse.Environment
	Deployments       []*gatehouse.Deployment
	From, To          int64  // preselected for comparing: the two newest
	Older             string // the cursor of the next page ("": no older deployments)
	Paged             bool   // this is not the newest page
}

func (a *App) history(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := historyPage{Project: r.PathValue("project"), App: r.PathValue("app"), Env: r.URL.Query().Get("env")}
	cursor := r.URL.Query().Get("cursor")
	p.Paged = cursor != ""
	page, err := a.svc.Deployments.Deployments(ctx, p.Project, p.App, gatehouse.DeploymentFilter{Environment: p.Env, Limit: historyLimit, Cursor: cursor})
	if err != nil {
		return err
	}
	p.Deployments, p.Older = page.Items, page.Next
	if p.Environments, err = a.svc.Environments.Environments(ctx, p.Project); err != nil {
		return err
	}
	if n := len(p.Deployments); n > 0 {
		p.To, p.From = p.Deployments[0].ID, p.Deployments[min(1, n-1)].ID
	}
	a.render(w, r, http.StatusOK, "history.html", "History of "+p.Project+"/"+p.App, p)
	return nil
}

// deploymentNumber reads a deployment id from a path or query value.
func deploymentNumber(field, v string) (int64, error) {
	if v == "" {
		return 0, gatehouse.Invalidf(field, "is required: choose a deployment")
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, gatehouse.Invalidf(field, "%q is not a deployment number", v)
	}
	return id, nil
}

type comparePage struct {
	Project, App string
	Diff         *gatehouse.DeploymentDiff
}

func (a *App) compareDeployments(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	from, err := deploymentNumber("from", q.Get("from"))
	if err != nil {
		return err
	}
	to, err := deploymentNumber("to", q.Get("to"))
	if err != nil {
		return err
	}
	p := comparePage{Project: r.PathValue("project"), App: r.PathValue("app")}
	if p.Diff, err = a.svc.Deployments.DiffDeployments(r.Context(), p.Project, p.App, from, to); err != nil {
		return err
	}
	a.render(w, r, http.StatusOK, "history-compare.html", fmt.Sprintf("Deployments %d and %d", from, to), p)
	return nil
}
