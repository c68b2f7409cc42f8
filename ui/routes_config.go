package ui

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

func (a *App) configRoutes() []Route {
	cfg := "/ui/projects/{project}/apps/{app}/config"
	return []Route{
		{"GET " + cfg, a.user(a.configOverview)},
		{"GET " + cfg + "/compare", a.user(a.configCompare)},
		{"GET " + cfg + "/edit", a.user(a.configEditPage)},
		{"POST " + cfg + "/edit", a.user(a.configEdit)},
		{"GET /ui/drafts", a.user(a.draftList)},
		{"GET /ui/drafts/{id}", a.user(a.draftPage)},
		{"POST /ui/drafts/{id}/comment", a.user(a.draftAction(draftComment))},
		{"POST /ui/drafts/{id}/edit", a.user(a.draftEdit)},
		{"POST /ui/drafts/{id}/propose", a.user(a.draftAction(draftPropose))},
		{"POST /ui/drafts/{id}/approve", a.user(a.draftAction(draftApprove))},
		{"POST /ui/drafts/{id}/reject", a.user(a.draftAction(draftReject))},
		{"POST /ui/drafts/{id}/publish", a.user(a.draftAction(draftPublish))},
		{"POST /ui/drafts/{id}/discard", a.user(a.draftAction(draftDiscard))},
	}
}

// configEnv is one environment's configuration resources.
type configEnv struct {
	Env       *gatehouse.Environment
	Resources []*gatehouse.Config
}

type configPage struct {
	Project, App string
	Base         *gatehouse.Config
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
	if p.Base, err = a.svc.Config.Config(ctx, gatehouse.ConfigRef{Project: p.Project, App: p.App, Kind: gatehouse.ConfigValues}); err != nil {
		return nil, nil, err
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

func (a *App) configOverview(w http.ResponseWriter, r *http.Request) error {
	p, envs, err := a.configBase(r)
	if err != nil {
		return err
	}
	for _, e := range envs {
		ce := configEnv{Env: e}
		for _, k := range gatehouse.ConfigKinds {
			c, err := a.svc.Config.Config(r.Context(), gatehouse.ConfigRef{Project: p.Project, App: p.App, Environment: e.Name, Kind: k})
			if k := gatehouse.KindOf(err); k == gatehouse.KindNotFound || k == gatehouse.KindForbidden {
				continue // not an environment this person may see
			} else if err != nil {
				return err
			}
			ce.Resources = append(ce.Resources, c)
		}
		if len(ce.Resources) > 0 {
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

type configEditView struct {
	Config           *gatehouse.Config
	Content, Comment string
	Error, Field     string // a refusal of the input, and the field at fault
}

// configRef reads the resource a config page names from its query or form.
func configRef(r *http.Request, v func(string) string) gatehouse.ConfigRef {
	kind := gatehouse.ConfigKind(v("kind"))
	if kind == "" {
		kind = gatehouse.ConfigValues
	}
	return gatehouse.ConfigRef{Project: r.PathValue("project"), App: r.PathValue("app"), Environment: v("env"), Kind: kind}
}

func (a *App) configEditPage(w http.ResponseWriter, r *http.Request) error {
	ref := configRef(r, r.URL.Query().Get)
	if err := ref.Validate(); err != nil {
		return err
	}
	c, err := a.svc.Config.Config(r.Context(), ref)
	if err != nil {
		return err
	}
	a.render(w, r, http.StatusOK, "config-edit.html", "Edit "+ref.String(), configEditView{Config: c, Content: c.Content})
	return nil
}

func (a *App) configEdit(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return gatehouse.Invalidf("form", "cannot be read")
	}
	ref := configRef(r, r.PostForm.Get)
	if err := ref.Validate(); err != nil {
		return err
	}
	ctx := r.Context()
	c, err := a.svc.Config.Config(ctx, ref)
	if err != nil {
		return err
	}
	in := gatehouse.ConfigWrite{Content: r.PostForm.Get("content"), Comment: strings.TrimSpace(r.PostForm.Get("comment"))}
	if c.Protected && c.OpenDraft != 0 {
		return a.back(w, r, fmt.Sprintf("/ui/drafts/%d", c.OpenDraft), "A draft of "+ref.String()+" is open: edit it here.")
	}
	if c.Protected {
		d, err := a.svc.Config.CreateDraft(ctx, ref, in)
		if err == nil {
			return a.back(w, r, fmt.Sprintf("/ui/drafts/%d", d.ID), fmt.Sprintf("Draft %d created. Propose it when it is ready for approval.", d.ID))
		}
		return a.configRefused(w, r, c, in, err)
	}
	saved, err := a.svc.Config.SetConfig(ctx, ref, in)
	if err != nil {
		return a.configRefused(w, r, c, in, err)
	}
	return a.back(w, r, "/ui/projects/"+ref.Project+"/apps/"+ref.App+"/config",
		fmt.Sprintf("Saved %s (configuration revision %d).", ref, saved.Revision))
}

// configRefused shows the form again, with the person's text, when their input is refused;
// other errors go to the error page.
func (a *App) configRefused(w http.ResponseWriter, r *http.Request, c *gatehouse.Config, in gatehouse.ConfigWrite, err error) error {
	pub := gatehouse.PublicError(err)
	if pub.Kind != gatehouse.KindInvalid {
		return err
	}
	v := configEditView{Config: c, Content: in.Content, Comment: in.Comment, Error: pub.Message, Field: pub.Field}
	if v.Field != "comment" {
		v.Field = "content"
	}
	a.render(w, r, http.StatusBadRequest, "config-edit.html", "Edit "+c.ConfigRef.String(), v)
	return nil
}

type draftsPage struct {
	Waiting, Open, Closed []*gatehouse.ConfigDraft
}

func (a *App) draftList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var p draftsPage
	var err error
	if p.Waiting, err = a.svc.Config.ConfigDrafts(ctx, gatehouse.DraftFilter{ForMe: true, Limit: 50}); err != nil {
		return err
	}
	all, err := a.svc.Config.ConfigDrafts(ctx, gatehouse.DraftFilter{Limit: 200})
	if err != nil {
		return err
	}
	for _, d := range all {
		if d.State.Open() {
			p.Open = append(p.Open, d)
		} else if len(p.Closed) < 20 {
			p.Closed = append(p.Closed, d)
		}
	}
	a.render(w, r, http.StatusOK, "drafts.html", "Config drafts", p)
	return nil
}

type draftView struct {
	D *gatehouse.ConfigDraft
	// Author means the viewer wrote a version, so may not vote on it.
	Author bool
	// Refused is why an edit was refused (Stale: it started from an old version), and Unsaved
	// the text of it, kept for the writer.
	Refused, Unsaved string
	Stale            bool
}

func draftID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, gatehouse.NotFoundf("config draft %q not found", r.PathValue("id"))
	}
	return id, nil
}

func (a *App) showDraft(w http.ResponseWriter, r *http.Request, status int, v draftView) error {
	id, err := draftID(r)
	if err != nil {
		return err
	}
	if v.D, err = a.svc.Config.ConfigDraft(r.Context(), id); err != nil {
		return err
	}
	if who := gatehouse.ActorFrom(r.Context()); who != nil {
		for _, au := range v.D.Authors {
			v.Author = v.Author || au == who.UserName
		}
	}
	a.render(w, r, status, "draft.html", fmt.Sprintf("Config draft %d", id), v)
	return nil
}

func (a *App) draftPage(w http.ResponseWriter, r *http.Request) error {
	return a.showDraft(w, r, http.StatusOK, draftView{})
}

func (a *App) draftEdit(w http.ResponseWriter, r *http.Request) error {
	id, err := draftID(r)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return gatehouse.Invalidf("form", "cannot be read")
	}
	base, err := strconv.ParseInt(r.PostForm.Get("base_version"), 10, 64)
	if err != nil {
		return gatehouse.Invalidf("base_version", "is required: reload the draft and edit again")
	}
	in := gatehouse.ConfigWrite{Content: r.PostForm.Get("content"), Comment: strings.TrimSpace(r.PostForm.Get("comment")), BaseVersion: base}
	d, err := a.svc.Config.EditDraft(r.Context(), id, in)
	switch gatehouse.KindOf(err) {
	case "":
		return a.back(w, r, fmt.Sprintf("/ui/drafts/%d", id), fmt.Sprintf("Saved version %d.", d.Version))
	case gatehouse.KindConflict, gatehouse.KindInvalid:
		// Keep what they wrote: a newer version came first, or the text needs fixing.
		status := map[gatehouse.ErrorKind]int{gatehouse.KindConflict: http.StatusConflict, gatehouse.KindInvalid: http.StatusBadRequest}
		return a.showDraft(w, r, status[gatehouse.KindOf(err)], draftView{Refused: gatehouse.PublicError(err).Error(), Unsaved: in.Content,
			Stale: gatehouse.KindOf(err) == gatehouse.KindConflict})
	}
	return err
}

// draftStep does one form's step on a draft and says what it did.
type draftStep func(a *App, r *http.Request, id int64) (string, error)

func (a *App) draftAction(step draftStep) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := draftID(r)
		if err != nil {
			return err
		}
		if err := r.ParseForm(); err != nil {
			return gatehouse.Invalidf("form", "cannot be read")
		}
		msg, err := step(a, r, id)
		if err != nil {
			return err
		}
		return a.back(w, r, fmt.Sprintf("/ui/drafts/%d", id), msg)
	}
}

func draftField(r *http.Request, name string) string { return strings.TrimSpace(r.PostForm.Get(name)) }

func draftComment(a *App, r *http.Request, id int64) (string, error) {
	_, err := a.svc.Config.CommentDraft(r.Context(), id, draftField(r, "text"))
	return "Comment added.", err
}

func draftPropose(a *App, r *http.Request, id int64) (string, error) {
	in := gatehouse.DraftPropose{Comment: draftField(r, "comment")}
	for _, n := range strings.Split(draftField(r, "notify"), ",") {
		if n = strings.TrimSpace(n); n != "" {
			in.Notify = append(in.Notify, n)
		}
	}
	if _, err := a.svc.Config.ProposeDraft(r.Context(), id, in); err != nil {
		return "", err
	}
	return "Proposed: approvers are notified.", nil
}

func draftApprove(a *App, r *http.Request, id int64) (string, error) {
	d, err := a.svc.Config.ApproveDraft(r.Context(), id, gatehouse.Decision{Comment: draftField(r, "comment")})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Your approval is recorded: the draft is %s.", d.State), nil
}

func draftReject(a *App, r *http.Request, id int64) (string, error) {
	c := draftField(r, "comment")
	if c == "" {
		return "", gatehouse.Invalidf("comment", "is required to reject: say what should change")
	}
	_, err := a.svc.Config.RejectDraft(r.Context(), id, gatehouse.Decision{Comment: c})
	return "Rejected: the draft went back to its authors.", err
}

func draftPublish(a *App, r *http.Request, id int64) (string, error) {
	d, err := a.svc.Config.PublishDraft(r.Context(), id)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Published as configuration revision %d.", d.PublishedRevision), nil
}

func draftDiscard(a *App, r *http.Request, id int64) (string, error) {
	_, err := a.svc.Config.DiscardDraft(r.Context(), id, draftField(r, "reason"))
	return "Draft discarded.", err
}
