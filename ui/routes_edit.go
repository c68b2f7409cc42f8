package ui

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

// One edit page serves every subject of an app's configuration page: its configuration
// resources (base values; each environment's values, configmap and secrets) and its gated
// settings (each environment's placement; the app's chart, hooks and pipeline). Where policies
// protect the subject, saving opens a draft of it; where none does, saving changes it at once.
// The kinds differ only in what their content is and which service changes them directly,
// so that is all editKinds holds: the page, the handler and the way a refusal is shown are
// the same for all.

// editKind is what the edit page needs to know of a kind of subject.
type editKind struct {
	// help says what the content is, for the form's label.
	help string
	// config says the subject is a configuration resource: a direct change keeps its
	// comment and bumps the app's configuration revision (settings services take no comment).
	config bool
	// direct changes an unprotected subject through its own service and says what it did.
	direct func(ctx context.Context, svc gatehouse.Services, ref gatehouse.DraftRef, in gatehouse.ConfigWrite) (string, error)
}

// The kinds the edit page serves. A policy changes through its own commands, and a rollback
// from the history's rollback page, so neither is here.
var editKinds = map[gatehouse.DraftKind]editKind{
	gatehouse.DraftValues:    {help: "Helm values YAML", config: true, direct: setConfig},
	gatehouse.DraftConfigMap: {help: "YAML mapping of setting names to text", config: true, direct: setConfig},
	gatehouse.DraftSecrets:   {help: "YAML mapping of setting names to text", config: true, direct: setConfig},
	gatehouse.DraftEnvironment: {help: "YAML: cluster, namespace, allow_cluster_scoped (true or false), allow_namespaces (a list of other namespaces)",
		direct: setPlacement},
	gatehouse.DraftChart: {help: "YAML: source (builtin, directory, repository or oci), path, url, name, version; the server pins the version and digest",
		direct: setChart},
	gatehouse.DraftHooks: {help: "YAML: pre_deploy and post_deploy, lists of steps (name, image by digest, command, args, env, timeout)",
		direct: setHooks},
	gatehouse.DraftPipeline: {help: "YAML: stages, a list of (name, environment, after, trigger, timeout, auto_rollback)",
		direct: setPipeline},
}

func setConfig(ctx context.Context, svc gatehouse.Services, ref gatehouse.DraftRef, in gatehouse.ConfigWrite) (string, error) {
	kind, _ := ref.Kind.Config()
	c, err := svc.Config.SetConfig(ctx, gatehouse.ConfigRef{Project: ref.Project, App: ref.App, Environment: ref.Environment, Kind: kind}, in)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Saved %s (configuration revision %d).", ref, c.Revision), nil
}

func setPlacement(ctx context.Context, svc gatehouse.Services, ref gatehouse.DraftRef, in gatehouse.ConfigWrite) (string, error) {
	var p gatehouse.Placement
	if err := gatehouse.ParseSetting("content", in.Content, &p); err != nil {
		return "", err
	}
	if p.AllowNamespaces == nil {
		p.AllowNamespaces = []string{}
	}
	e, err := svc.Environments.UpdateEnvironment(ctx, ref.Project, ref.Environment, gatehouse.EnvironmentUpdate{Cluster: &p.Cluster,
		Namespace: &p.Namespace, AllowClusterScoped: &p.AllowClusterScoped, AllowNamespaces: &p.AllowNamespaces})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Saved the %s: cluster %s, namespace %s.", ref, e.Cluster, e.Namespace), nil
}

func setChart(ctx context.Context, svc gatehouse.Services, ref gatehouse.DraftRef, in gatehouse.ConfigWrite) (string, error) {
	var c gatehouse.Chart
	if err := gatehouse.ParseSetting("content", in.Content, &c); err != nil {
		return "", err
	}
	a, err := svc.Apps.UpdateApp(ctx, ref.Project, ref.App, gatehouse.AppUpdate{Chart: &c})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Saved the %s: %s chart%s.", ref, a.Chart.Source, pinnedAs(a.Chart)), nil
}

// pinnedAs says what a chart was pinned to, if anything.
func pinnedAs(c gatehouse.Chart) string {
	var parts []string
	if c.Version != "" {
		parts = append(parts, "version "+c.Version)
	}
	if c.Digest != "" {
		parts = append(parts, "digest "+c.Digest)
	}
	if len(parts) == 0 {
		return ""
	}
	return ", pinned to " + strings.Join(parts, " and ")
}

func setHooks(ctx context.Context, svc gatehouse.Services, ref gatehouse.DraftRef, in gatehouse.ConfigWrite) (string, error) {
	var h gatehouse.Hooks
	if err := gatehouse.ParseSetting("content", in.Content, &h); err != nil {
		return "", err
	}
	if _, err := svc.Apps.UpdateApp(ctx, ref.Project, ref.App, gatehouse.AppUpdate{Hooks: &h}); err != nil {
		return "", err
	}
	return fmt.Sprintf("Saved the %s.", ref), nil
}

func setPipeline(ctx context.Context, svc gatehouse.Services, ref gatehouse.DraftRef, in gatehouse.ConfigWrite) (string, error) {
	var p gatehouse.PipelineSet
	if err := gatehouse.ParseSetting("content", in.Content, &p); err != nil {
		return "", err
	}
	if _, err := svc.Pipelines.SetPipeline(ctx, ref.Project, ref.App, p); err != nil {
		return "", err
	}
	return fmt.Sprintf("Saved the %s.", ref), nil
}

// How saving the edit form goes: through a draft, or directly.
const (
	viaDraft  = "draft"
	viaDirect = "direct"
)

type editView struct {
	Project, App     string // the configuration page the edit page belongs to
	Live             *gatehouse.Live
	Help             string
	Config           bool
	Content, Comment string
	Error, Field     string // a refusal of the input, and the field at fault
	// Via is how saving goes: viaDraft where the subject is protected, else viaDirect.
	Via string
	// Other is offered after the service refused the way the page chose because the change
	// is judged otherwise than the subject as a whole (a pipeline change that touches only
	// unprotected stages; a placement moving into a protected environment's namespace).
	Other string
}

// editRef reads the subject an edit page names from its query or form: its kind and
// environment, and the page's app for the kinds that belong to one.
func editRef(r *http.Request, v func(string) string) (gatehouse.DraftRef, editKind, error) {
	kind := gatehouse.DraftKind(v("kind"))
	if kind == "" {
		kind = gatehouse.DraftValues
	}
	k, ok := editKinds[kind]
	if !ok {
		return gatehouse.DraftRef{}, k, gatehouse.Invalidf("kind", "%q cannot be edited here: expected values, configmap, secrets, environment, chart, hooks or pipeline", kind)
	}
	ref := gatehouse.DraftRef{Kind: kind, Project: r.PathValue("project"), App: r.PathValue("app"), Environment: v("env")}
	if kind == gatehouse.DraftEnvironment {
		ref.App = "" // an environment's placement is every app's
	}
	return ref, k, ref.Validate()
}

func (a *App) editView(r *http.Request, live *gatehouse.Live, k editKind) editView {
	v := editView{Project: r.PathValue("project"), App: r.PathValue("app"), Live: live, Help: k.help, Config: k.config, Via: viaDirect}
	if live.Protected {
		v.Via = viaDraft
	}
	return v
}

func (a *App) configEditPage(w http.ResponseWriter, r *http.Request) error {
	ref, k, err := editRef(r, r.URL.Query().Get)
	if err != nil {
		return err
	}
	live, err := a.svc.Drafts.Live(r.Context(), ref)
	if err != nil {
		return err
	}
	v := a.editView(r, live, k)
	v.Content = live.Content
	a.render(w, r, http.StatusOK, "config-edit.html", "Edit "+ref.String(), v)
	return nil
}

// configEdit saves the edit form: a draft where the subject is protected, a direct change
// where it is not, or the way the form names when the person chose the other one after a
// refusal (the services judge each change again, so naming a way grants nothing).
func (a *App) configEdit(w http.ResponseWriter, r *http.Request) error {
	ref, k, err := editRef(r, r.PostForm.Get)
	if err != nil {
		return err
	}
	ctx := r.Context()
	live, err := a.svc.Drafts.Live(ctx, ref)
	if err != nil {
		return err
	}
	v := a.editView(r, live, k)
	if via := r.PostForm.Get("via"); via == viaDraft || via == viaDirect {
		v.Via = via
	}
	in := gatehouse.ConfigWrite{Content: r.PostForm.Get("content"), Comment: strings.TrimSpace(r.PostForm.Get("comment"))}
	if v.Via == viaDraft && live.OpenDraft != 0 {
		return a.back(w, r, fmt.Sprintf("/ui/drafts/%d", live.OpenDraft), "A draft of "+ref.String()+" is open: edit it here.")
	}
	if v.Via == viaDraft {
		d, err := a.svc.Drafts.CreateDraft(ctx, gatehouse.DraftCreate{DraftRef: ref, ConfigWrite: in})
		if err != nil {
			return a.editRefused(w, r, v, in, err)
		}
		return a.back(w, r, fmt.Sprintf("/ui/drafts/%d", d.ID), fmt.Sprintf("Draft %d created. Propose it when it is ready for approval.", d.ID))
	}
	msg, err := k.direct(ctx, a.svc, ref, in)
	if err != nil {
		return a.editRefused(w, r, v, in, err)
	}
	return a.back(w, r, "/ui/projects/"+v.Project+"/apps/"+v.App+"/config", msg)
}

// editRefused shows the form again, with the person's text, when their input is refused, or
// when the service judged the change otherwise than the page did (then the other way is
// offered); other errors go to the error page.
func (a *App) editRefused(w http.ResponseWriter, r *http.Request, v editView, in gatehouse.ConfigWrite, err error) error {
	pub := gatehouse.PublicError(err)
	v.Content, v.Comment, v.Error, v.Field = in.Content, in.Comment, pub.Message, pub.Field
	switch pub.Kind {
	case gatehouse.KindInvalid:
		if v.Field != "comment" && v.Field != "content" {
			v.Error = pub.Error() // names the setting's field at fault ("namespace: …")
		}
		if v.Field != "comment" {
			v.Field = "content"
		}
	case gatehouse.KindPreconditionFailed:
		v.Error, v.Field, v.Other = pub.Error(), "", viaDraft
		if v.Via == viaDraft {
			v.Other = viaDirect
		}
	default:
		return err
	}
	status := statusOf[pub.Kind]
	a.render(w, r, status, "config-edit.html", "Edit "+v.Live.DraftRef.String(), v)
	return nil
}
