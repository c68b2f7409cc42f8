package ui

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

func (a *App) accessRoutes() []Route {
	return []Route{
		{"GET /ui/access", a.user(a.access)},
		{"POST /ui/access/bindings", a.user(a.grant)},
		{"POST /ui/access/bindings/{id}/delete", a.user(a.revokeBinding)},
		{"GET /ui/access/tokens", a.user(a.tokens)},
		{"POST /ui/access/tokens", a.user(a.createToken)},
		{"POST /ui/access/tokens/{id}/revoke", a.user(a.revokeToken)},
	}
}

type accessPage struct {
	Everyone bool // the caller sees the whole directory (gatehouse.SeesDirectory), e-mails included
	Users    []*gatehouse.User
	Groups   []*gatehouse.Group
	Bindings []*gatehouse.RoleBinding
	Roles    []gatehouse.Role
	Projects []*gatehouse.Project
	Apps     []string // app names of the visible projects, offered by the scope picker
	Envs     []string // environment names likewise
}

func (a *App) access(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := accessPage{Roles: gatehouse.Roles, Everyone: gatehouse.SeesDirectory(gatehouse.ActorFrom(ctx).Grants)}
	var err error
	if p.Users, err = a.svc.Users.Users(ctx); err != nil {
		return err
	}
	if p.Groups, err = a.svc.Groups.Groups(ctx); err != nil {
		return err
	}
	if p.Bindings, err = a.svc.RoleBindings.RoleBindings(ctx, gatehouse.RoleBindingFilter{}); err != nil {
		return err
	}
	if p.Projects, err = a.svc.Projects.Projects(ctx); err != nil {
		return err
	}
	for _, pr := range p.Projects {
		apps, err := a.svc.Apps.Apps(ctx, pr.Name)
		if err != nil {
			return err
		}
		for _, ap := range apps {
			p.Apps = append(p.Apps, ap.Name)
		}
		envs, err := a.svc.Environments.Environments(ctx, pr.Name)
		if err != nil {
			return err
		}
		for _, e := range envs {
			p.Envs = append(p.Envs, e.Name)
		}
	}
	slices.Sort(p.Apps)
	slices.Sort(p.Envs)
	p.Apps, p.Envs = slices.Compact(p.Apps), slices.Compact(p.Envs)
	a.render(w, r, http.StatusOK, "access.html", "Access", p)
	return nil
}

// grantScope composes the scope picker's choices into a scope: "*" alone is global; otherwise
// "project:P" narrowed by an app and an environment, each a name, "*" (all) or empty (no limit).
func grantScope(project, app, env string) (string, error) {
	switch {
	case project == "":
		return "", gatehouse.Invalidf("project", "is required: choose a project, or * for every project")
	case project == "*" && app == "" && env == "":
		return "*", nil
	}
	s := "project:" + project
	if app != "" {
		s += "/app:" + app
	}
	if env != "" {
		s += "/env:" + env
	}
	return s, nil
}

func (a *App) grant(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return gatehouse.Invalidf("form", "cannot be read")
	}
	f := r.PostForm
	in := gatehouse.RoleBindingCreate{Role: gatehouse.Role(f.Get("role"))}
	switch kind, name, _ := strings.Cut(f.Get("subject"), ":"); kind {
	case "user":
		in.User = name
	case "group":
		in.Group = name
	default:
		return gatehouse.Invalidf("subject", "expected a user or a group")
	}
	scope, err := grantScope(strings.TrimSpace(f.Get("project")), strings.TrimSpace(f.Get("app")), strings.TrimSpace(f.Get("env")))
	if err != nil {
		return err
	}
	in.Scope = scope
	if f.Get("action") == "propose" {
		return a.proposeGrant(w, r, in)
	}
	b, err := a.svc.RoleBindings.CreateRoleBinding(r.Context(), in)
	if gatehouse.KindOf(err) == gatehouse.KindPreconditionFailed {
		return a.back(w, r, "/ui/access", gatehouse.PublicError(err).Error()+" — use “Propose for approval”.")
	} else if err != nil {
		return err
	}
	who := "user " + b.User
	if b.Group != "" {
		who = "group " + b.Group
	}
	return a.back(w, r, "/ui/access", fmt.Sprintf("Granted %s on %s to %s.", b.Role, b.Scope, who))
}

// accessNumber reads the id in a path.
func accessNumber(r *http.Request, what string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, gatehouse.Invalidf("id", "%q is not a %s number", r.PathValue("id"), what)
	}
	return id, nil
}

func (a *App) revokeBinding(w http.ResponseWriter, r *http.Request) error {
	id, err := accessNumber(r, "role binding")
	if err != nil {
		return err
	}
	if err := a.svc.RoleBindings.DeleteRoleBinding(r.Context(), id); err != nil {
		return err
	}
	return a.back(w, r, "/ui/access", fmt.Sprintf("Revoked role binding %d.", id))
}

// tokenLifetime is a choice of the token form.
type tokenLifetime struct{ Value, Label string }

var tokenLifetimes = []tokenLifetime{
	{"", "90 days (default)"}, {"24h", "1 day"}, {"168h", "7 days"}, {"720h", "30 days"}, {"4380h", "6 months"}, {"8760h", "1 year"},
}

type tokensPage struct {
	Tokens    []*gatehouse.Token
	Lifetimes []tokenLifetime
	New       *gatehouse.NewToken // just created: its secret is shown this once
}

func (a *App) tokens(w http.ResponseWriter, r *http.Request) error {
	return a.tokensPage(w, r, nil)
}

func (a *App) tokensPage(w http.ResponseWriter, r *http.Request, created *gatehouse.NewToken) error {
	list, err := a.svc.Identity.Tokens(r.Context(), "")
	if err != nil {
		return err
	}
	title := "API tokens"
	if created != nil {
		title = "New API token"
		// The secret must not linger in caches or history.
		w.Header().Set("Cache-Control", "no-store")
	}
	a.render(w, r, http.StatusOK, "access-tokens.html", title, tokensPage{Tokens: list, Lifetimes: tokenLifetimes, New: created})
	return nil
}

func (a *App) createToken(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return gatehouse.Invalidf("form", "cannot be read")
	}
	in := gatehouse.TokenCreate{Name: strings.TrimSpace(r.PostForm.Get("name")), ExpiresIn: r.PostForm.Get("expires_in")}
	t, err := a.svc.Identity.CreateToken(r.Context(), "", in)
	if err != nil {
		return err
	}
	return a.tokensPage(w, r, t)
}

func (a *App) revokeToken(w http.ResponseWriter, r *http.Request) error {
	id, err := accessNumber(r, "token")
	if err != nil {
		return err
	}
	if err := a.svc.Identity.RevokeToken(r.Context(), id); err != nil {
		return err
	}
	return a.back(w, r, "/ui/access/tokens", fmt.Sprintf("Revoked token %d.", id))
}

// proposeGrant opens and proposes an access draft that gives the role, for the policies that
// count the vote it gives to judge; the draft's page follows.
func (a *App) proposeGrant(w http.ResponseWriter, r *http.Request, in gatehouse.RoleBindingCreate) error {
	ctx := r.Context()
	ref := gatehouse.DraftRef{Kind: gatehouse.DraftAccess, User: in.User, Group: in.Group}
	live, err := a.svc.Drafts.Live(ctx, ref)
	if err != nil {
		return err
	}
	content, err := gatehouse.EditAccess(live.Content, func(ac *gatehouse.Access) {
		ac.Roles = append(ac.Roles, gatehouse.RoleGrant{Role: in.Role, Scope: in.Scope})
	})
	if err != nil {
		return err
	}
	d, err := a.svc.Drafts.CreateDraft(ctx, gatehouse.DraftCreate{DraftRef: ref, ConfigWrite: gatehouse.ConfigWrite{Content: content}})
	if gatehouse.KindOf(err) == gatehouse.KindPreconditionFailed {
		return a.back(w, r, "/ui/access", gatehouse.PublicError(err).Error())
	} else if err != nil {
		return err
	}
	to := fmt.Sprintf("/ui/drafts/%d", d.ID)
	if _, err := a.svc.Drafts.ProposeDraft(ctx, d.ID, gatehouse.DraftPropose{}); err != nil {
		return a.back(w, r, to, fmt.Sprintf("Draft %d is open, but proposing it was refused: %s", d.ID, gatehouse.PublicError(err).Error()))
	}
	who := "user " + in.User
	if in.Group != "" {
		who = "group " + in.Group
	}
	return a.back(w, r, to, fmt.Sprintf("Granting %s on %s to %s proposed as draft %d: its approvers are notified.", in.Role, in.Scope, who, d.ID))
}
