package ui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

const appPath = "/ui/projects/{project}/apps/{app}"

func (a *App) deployRoutes() []Route {
	return []Route{
		{"GET " + appPath + "/deploy", a.user(a.deployPage)},
		{"POST " + appPath + "/deploy", a.user(a.deploy)},
		{"GET " + appPath + "/deployments/{id}", a.user(a.deploymentPage)},
		{"GET " + appPath + "/deployments/{id}/events", a.user(a.deploymentEvents)},
	}
}

type deployPage struct {
	Project, App, Env, Digest string
	Stages                    []gatehouse.Stage
	Artifacts                 []*gatehouse.Artifact
	Preview                   *gatehouse.DeploymentPreview
	Window                    *gatehouse.WindowVerdict // of the chosen stage, now
}

func (a *App) deployPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := deployPage{Project: r.PathValue("project"), App: r.PathValue("app"), Env: r.URL.Query().Get("env"), Digest: r.URL.Query().Get("digest")}
	pl, err := a.svc.Pipelines.Pipeline(ctx, p.Project, p.App)
	if err != nil {
		return err
	}
	p.Stages = pl.Stages
	if st := pl.StageFor(p.Env); st != nil {
		if v, ok := pl.Windows[st.Name]; ok {
			p.Window = &v
		}
	}
	if p.Artifacts, err = a.svc.Artifacts.Artifacts(ctx, p.Project, p.App, gatehouse.ArtifactFilter{Limit: 100}); err != nil {
		return err
	}
	if p.Env != "" && p.Digest != "" {
		if p.Preview, err = a.svc.Deployments.Preview(ctx, p.Project, p.App, gatehouse.DeploymentCreate{Environment: p.Env, Digest: p.Digest}); err != nil {
			return err
		}
	}
	a.render(w, r, http.StatusOK, "deploy.html", "Deploy "+p.App, p)
	return nil
}

// deploy starts a deployment or raises an approval request, as the form's button says.
func (a *App) deploy(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	project, app := r.PathValue("project"), r.PathValue("app")
	f := r.PostForm
	env, digest := f.Get("env"), f.Get("digest")
	if f.Get("action") == "request" {
		labels := map[string]string{}
		for _, line := range strings.Split(f.Get("labels"), "\n") {
			if line = strings.TrimSpace(line); line == "" {
				continue
			}
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				return gatehouse.Invalidf("labels", "%q: expected one key=value per line", line)
			}
			labels[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
		req, err := a.svc.Approvals.RequestApproval(ctx, project, app, gatehouse.ApprovalCreate{Environment: env, Digest: digest,
			Comment: f.Get("comment"), Labels: labels, Notify: names(f.Get("notify"))})
		if err != nil {
			return err
		}
		return a.back(w, r, fmt.Sprintf("/ui/approvals/%d", req.ID), "Approval requested.")
	}
	in := gatehouse.DeploymentCreate{Environment: env, Digest: digest}
	if f.Get("action") == "break-glass" {
		// The form is confirmed twice: the box ticked, and the reason written.
		if f.Get("confirm") != "yes" {
			return gatehouse.Invalidf("confirm", "tick the box: break-glass deploys without the approval and through closed windows, and is reviewed")
		}
		in.BreakGlass = f.Get("reason")
		if in.BreakGlass == "" {
			return gatehouse.Invalidf("break_glass", "is required: the reason for breaking the glass")
		}
	}
	d, err := a.svc.Deployments.Deploy(ctx, project, app, in)
	if err != nil {
		return err
	}
	return a.back(w, r, fmt.Sprintf("/ui/projects/%s/apps/%s/deployments/%d", project, app, d.ID), "")
}

func (a *App) deploymentOf(r *http.Request) (*gatehouse.Deployment, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, gatehouse.Invalidf("id", "%q is not a deployment number", r.PathValue("id"))
	}
	return a.svc.Deployments.Deployment(r.Context(), r.PathValue("project"), r.PathValue("app"), id)
}

func (a *App) deploymentPage(w http.ResponseWriter, r *http.Request) error {
	d, err := a.deploymentOf(r)
	if err != nil {
		return err
	}
	a.render(w, r, http.StatusOK, "deployment.html", fmt.Sprintf("Deployment %d", d.ID), d)
	return nil
}

// deploymentEvents streams a deployment's progress as server-sent events: each new step as a
// "step" event whose id is its number, each change of state as a "state" event; the stream
// ends when the deployment does. A browser that lost the stream (its replica died, the
// network broke) reconnects with the last id it saw (Last-Event-ID) and gets the steps after
// it, from whichever replica answers.
func (a *App) deploymentEvents(w http.ResponseWriter, r *http.Request) error {
	d, err := a.deploymentOf(r)
	if err != nil {
		return err
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		return gatehouse.Errorf(gatehouse.KindInternal, "streaming unsupported")
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	after := len(d.Events) // the page lists the steps it was rendered with
	resume := r.URL.Query().Get("after")
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		resume = id
	}
	if n, err := strconv.Atoi(resume); err == nil && n >= 0 && n <= after {
		after = n
	}
	var state gatehouse.DeploymentState
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		for i, e := range d.Events[after:] {
			fmt.Fprintf(w, "id: %d\n", after+i+1)
			send(w, "step", map[string]string{"time": e.Time.UTC().Format("15:04:05"), "step": e.Step, "message": e.Message})
		}
		after = len(d.Events)
		if d.State != state {
			state = d.State
			send(w, "state", map[string]any{"state": d.State, "class": stateClass(d.State), "cause": d.Cause, "done": d.State.Terminal()})
		}
		flusher.Flush()
		if d.State.Terminal() {
			return nil
		}
		select {
		case <-r.Context().Done():
			return nil
		case <-tick.C:
		}
		if d, err = a.deploymentOf(r); err != nil {
			return nil // the stream has begun: the client sees it end
		}
	}
}

func send(w http.ResponseWriter, event string, data any) {
	b, _ := json.Marshal(data)
	fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b)
}
