package ui

import (
	"fmt"
	"net/http"
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
		d, err := a.svc.Drafts.CreateDraft(ctx, gatehouse.DraftCreate{DraftRef: ref.Draft(), ConfigWrite: in})
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
	a.render(w, r, http.StatusBadRequest, "config-edit.html", "Edit "+c.DraftRef.String(), v)
	return nil
}
