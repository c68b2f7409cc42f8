package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

type rollbackPage struct {
	Project, App string
	Target       *gatehouse.Deployment // what the rollback deploys again
	Current      *gatehouse.Deployment // what runs in the environment now (nil: nothing)
	Image        *gatehouse.ValueChange
	// Values are how the target's configuration (values, configmap, secret keys) differs from
	// what runs now; Pending are the configuration changes made since what runs now was
	// deployed, live but not deployed yet, which the rollback replaces too.
	Values, Pending []gatehouse.ValueChange
	Gate            []string        // the image policies that gate the stage
	Config          *gatehouse.Live // the rollback as a gated subject: the config policies that judge it, its open draft
	// Propose says the rollback goes through a draft: config policies protect the
	// environment's configuration and the rollback would apply other configuration.
	Propose bool
	// Refused is why the server refused the proposal: it judged that the rollback needs no
	// configuration approval, so the page offers the rollback itself.
	Refused string
}

// configChanges keeps the changes of configuration: the image is the image gate's, and a
// rollback that changes only the image needs no configuration approval (the service's rule).
func configChanges(cs []gatehouse.ValueChange) []gatehouse.ValueChange {
	var out []gatehouse.ValueChange
	for _, c := range cs {
		if c.Path != "image" && !strings.HasPrefix(c.Path, "image.") {
			out = append(out, c)
		}
	}
	return out
}

// readRollback reads what rolling back to the deployment the path names would do: compared
// with what runs now and with the live configuration, and how the gates judge it.
func (a *App) readRollback(r *http.Request) (*rollbackPage, error) {
	ctx := r.Context()
	p := &rollbackPage{Project: r.PathValue("project"), App: r.PathValue("app")}
	id, err := deploymentNumber("id", r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	if p.Target, err = a.svc.Deployments.Deployment(ctx, p.Project, p.App, id); err != nil {
		return nil, err
	}
	env := p.Target.Environment
	deps, err := gatehouse.Items(a.svc.Deployments.Deployments(ctx, p.Project, p.App, gatehouse.DeploymentFilter{Environment: env, Limit: historyLimit}))
	if err != nil {
		return nil, err
	}
	for _, d := range deps {
		if d.State == gatehouse.StateSucceeded {
			p.Current = d
			break
		}
	}
	if p.Current != nil && p.Current.ID != p.Target.ID {
		diff, err := a.svc.Deployments.DiffDeployments(ctx, p.Project, p.App, p.Current.ID, p.Target.ID)
		if err != nil {
			return nil, err
		}
		p.Image, p.Values = diff.Image, configChanges(diff.Changes)
	}
	if p.Current != nil {
		// Deploying what runs now with the live configuration shows what changed since.
		live, err := a.svc.Deployments.Preview(ctx, p.Project, p.App, gatehouse.DeploymentCreate{Environment: env, Digest: p.Current.Digest})
		if err != nil {
			return nil, err
		}
		p.Pending = configChanges(live.Changes)
	}
	if p.Config, err = a.svc.Drafts.Live(ctx, gatehouse.DraftRef{Kind: gatehouse.DraftRollback, Project: p.Project, App: p.App, Environment: env}); err != nil {
		return nil, err
	}
	p.Config.Content = "" // what runs now, with marks of its secrets: not for the page
	p.Propose = p.Config.Protected && (len(p.Values) > 0 || len(p.Pending) > 0)
	policies, err := a.svc.Policies.Policies(ctx, p.Project)
	if err != nil {
		return nil, err
	}
	for _, pol := range policies {
		if !pol.Reaches(gatehouse.PolicyImage, p.Target.Target()) {
			continue
		}
		for _, rule := range pol.Rules {
			p.Gate = append(p.Gate, fmt.Sprintf("%s (rollback: %s): %s", pol.Name, pol.Rollback, rule.String()))
		}
	}
	return p, nil
}

func (a *App) rollbackPage(w http.ResponseWriter, r *http.Request) error {
	p, err := a.readRollback(r)
	if err != nil {
		return err
	}
	a.render(w, r, http.StatusOK, "history-rollback.html", fmt.Sprintf("Roll back to deployment %d", p.Target.ID), p)
	return nil
}

// rollback queues the rollback, or (action propose) opens and proposes a draft of it where
// configuration policies must approve the configuration it would apply.
func (a *App) rollback(w http.ResponseWriter, r *http.Request) error {
	project, app := r.PathValue("project"), r.PathValue("app")
	id, err := deploymentNumber("id", r.PathValue("id"))
	if err != nil {
		return err
	}
	if r.PostForm.Get("action") == "propose" {
		return a.proposeRollback(w, r, id)
	}
	d, err := a.svc.Deployments.Rollback(r.Context(), project, app, id)
	if err != nil {
		return err
	}
	to := fmt.Sprintf("/ui/projects/%s/apps/%s/deployments/%d", url.PathEscape(project), url.PathEscape(app), d.ID)
	return a.back(w, r, to, fmt.Sprintf("Rollback to deployment %d queued as deployment %d.", id, d.ID))
}

// proposeRollback opens a rollback draft naming the deployment and asks for its approval.
// When the server refuses it as needing no approval, the page comes back offering the
// rollback itself, with the server's reason.
func (a *App) proposeRollback(w http.ResponseWriter, r *http.Request, id int64) error {
	ctx := r.Context()
	p, err := a.readRollback(r)
	if err != nil {
		return err
	}
	ref := gatehouse.DraftRef{Kind: gatehouse.DraftRollback, Project: p.Project, App: p.App, Environment: p.Target.Environment}
	comment := strings.TrimSpace(r.PostForm.Get("comment"))
	d, err := a.svc.Drafts.CreateDraft(ctx, gatehouse.DraftCreate{DraftRef: ref,
		ConfigWrite: gatehouse.ConfigWrite{Content: fmt.Sprintf("deployment: %d\n", id), Comment: comment}})
	if gatehouse.KindOf(err) == gatehouse.KindPreconditionFailed {
		p.Refused, p.Propose = gatehouse.PublicError(err).Error(), false
		a.render(w, r, http.StatusPreconditionFailed, "history-rollback.html", fmt.Sprintf("Roll back to deployment %d", id), p)
		return nil
	} else if err != nil {
		return err
	}
	to := fmt.Sprintf("/ui/drafts/%d", d.ID)
	if _, err := a.svc.Drafts.ProposeDraft(ctx, d.ID, gatehouse.DraftPropose{Comment: comment, Notify: names(r.PostForm.Get("notify"))}); err != nil {
		return a.back(w, r, to, fmt.Sprintf("Draft %d of the rollback is open, but proposing it was refused: %s", d.ID, gatehouse.PublicError(err).Error()))
	}
	return a.back(w, r, to, fmt.Sprintf("Rollback to deployment %d proposed as draft %d: approvers are notified. Once it is approved, publishing it queues the rollback.", id, d.ID))
}

// names reads a comma-separated list of user names from a form field.
func names(field string) []string {
	var out []string
	for _, n := range strings.Split(field, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}
