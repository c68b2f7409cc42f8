package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

// subject is what a draft changes, resolved to its rows (as the system: the caller's rights
// are checked on the subject's target).
type subject struct {
	ref       gatehouse.DraftRef
	projectID int64
	app       *gatehouse.App
	env       *gatehouse.Environment
	policy    *gatehouse.Policy // nil for a policy draft that creates no policy (never)
	principal *principal        // an access draft's user or group
	window    *gatehouse.Window // a window draft's window; nil for one that creates it
}

func (s subject) appID() int64 {
	if s.app == nil {
		return 0
	}
	return s.app.ID
}

func (s subject) envID() int64 {
	if s.env == nil {
		return 0
	}
	return s.env.ID
}

// key is the subject's canonical name: at most one draft of it is open.
func (s subject) key() string {
	switch s.ref.Kind {
	case gatehouse.DraftPolicy:
		return "policy/" + s.ref.Policy
	case gatehouse.DraftAccess:
		return "access/" + s.principal.String()
	case gatehouse.DraftWindow:
		return "window/" + s.ref.Window
	}
	return fmt.Sprintf("%s/%d/%d", s.ref.Kind, s.appID(), s.envID())
}

// draftKind is one kind of draft: the few steps in which kinds differ. Everything else —
// versions, comments, votes, judging, publishing, the trail — is the one draft flow's.
type draftKind interface {
	// live reads the subject's content now, in the form a draft of it takes (plain: secret
	// values included).
	live(ctx context.Context, db *DB, q querier, s subject) (string, error)
	// prepare checks new content and returns it as stored; prev is the content it replaces.
	prepare(ctx context.Context, db *DB, q querier, s subject, content, prev string) (string, error)
	// change compares two contents for people (secret values masked).
	change(ctx context.Context, db *DB, q querier, s subject, fromName, toName, a, b string) (*gatehouse.ConfigChange, error)
	// judges are the policies that judge changing the subject from live to body, each with
	// where it counts people. None means the subject is not protected: it changes directly.
	judges(ctx context.Context, db *DB, q querier, s subject, live, body string, ch *gatehouse.ConfigChange) ([]gatehouse.Judge, error)
	// apply makes body live, audited as how says (published from a draft, or changed
	// directly); it returns the configuration revision or the deployment it made, if any.
	apply(tx *Tx, s subject, live, body string, how application) (int64, error)
	// view renders content for people (secret values masked).
	view(body string) string
	// action is what writing and publishing a draft of the kind needs on its target.
	action() gatehouse.Action
	// sealed says versions are sealed at rest (they hold secret values).
	sealed() bool
}

// application says how a change becomes live: published from an approved draft, or changed
// directly where nothing protects it.
type application struct {
	draft     int64
	version   int64
	approvers []string
	comment   string
}

// published reports whether the change comes from a draft.
func (a application) published() bool { return a.draft != 0 }

// details are what the trail records of how the change came: the draft, its version and
// approvers, or the comment of a direct change; extra adds the kind's own.
func (a application) details(extra map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range extra {
		out[k] = v
	}
	if a.published() {
		out["draft"], out["version"], out["approvers"] = a.draft, a.version, a.approvers
	} else if a.comment != "" {
		out["comment"] = a.comment
	}
	return out
}

// draftKinds holds every kind.
var draftKinds = map[gatehouse.DraftKind]draftKind{
	gatehouse.DraftValues:      configKind{gatehouse.ConfigValues},
	gatehouse.DraftConfigMap:   configKind{gatehouse.ConfigMapData},
	gatehouse.DraftSecrets:     configKind{gatehouse.ConfigSecrets},
	gatehouse.DraftEnvironment: environmentKind{},
	gatehouse.DraftChart:       chartKind{},
	gatehouse.DraftHooks:       hooksKind{},
	gatehouse.DraftPipeline:    pipelineKind{},
	gatehouse.DraftPolicy:      policyKind{},
	gatehouse.DraftRollback:    rollbackKind{},
	gatehouse.DraftAccess:      accessKind{},
	gatehouse.DraftWindow:      windowKind{},
}

// resolveSubject reads what a reference names. Parts the caller may not see are not found;
// the caller's right to change it is checked apart (see requireWrite).
func resolveSubject(ctx context.Context, q querier, ref gatehouse.DraftRef) (subject, error) {
	if err := ref.Validate(); err != nil {
		return subject{}, err
	}
	who, err := actor(ctx)
	if err != nil {
		return subject{}, err
	}
	s := subject{ref: ref}
	if ref.Kind == gatehouse.DraftAccess {
		// A principal's access is read by who sees the whole directory, and a user's by the
		// user; an access draft is seen as the draft says (see visibleDraft).
		if !gatehouse.SeesDirectory(who.Grants) && (ref.User == "" || ref.User != who.UserName) {
			return s, gatehouse.NotFoundf("%s not found", ref)
		}
		s.principal, err = findPrincipal(ctx, q, ref.User, ref.Group)
		return s, err
	}
	if ref.Kind == gatehouse.DraftWindow {
		// A window the caller does not see, or that does not exist yet, is the subject of
		// its creation (which a taken name stops when it is applied).
		if s.window, err = findWindow(ctx, q, ref.Window); err != nil {
			return s, err
		}
		if s.window != nil && !visibleScope(who, s.window.Scope) {
			s.window = nil
		}
		return s, nil
	}
	if ref.Kind == gatehouse.DraftPolicy {
		if s.policy, err = scanPolicy(q.QueryRowContext(ctx, policySelect+` WHERE name = $1`, ref.Policy)); err != nil {
			return s, notFoundOr(err, "policy %q not found", ref.Policy)
		}
		if !visiblePolicy(who, s.policy) {
			return s, gatehouse.NotFoundf("policy %q not found", ref.Policy)
		}
		return s, nil
	}
	_, p, err := visibleProject(ctx, q, ref.Project)
	if err != nil {
		return s, err
	}
	s.projectID = p.ID
	if ref.App != "" {
		if _, s.app, err = visibleApp(ctx, q, ref.Project, ref.App); err != nil {
			return s, err
		}
	}
	if ref.Environment != "" {
		if s.env, err = findEnvironment(ctx, q, ref.Project, ref.Environment); err != nil {
			return s, err
		}
		if !who.CanSee(ref.Target()) {
			return s, gatehouse.NotFoundf("environment %q not found in project %q", ref.Environment, ref.Project)
		}
	}
	return s, nil
}

// requireWrite checks the caller may change the subject: the kind's action on its target, or
// for a policy, manage on its scope.
func requireWrite(who *gatehouse.Actor, k draftKind, s subject) error {
	if s.ref.Kind == gatehouse.DraftAccess {
		// Each role changed is checked against CanGrant when the content is prepared.
		if !slices.ContainsFunc(who.Grants, func(g gatehouse.Grant) bool { return g.Role.Allows(gatehouse.ActionGrant) }) {
			return gatehouse.Forbiddenf("%s may not change who holds roles: that takes access-manager or super-admin", who.UserName)
		}
		return nil
	}
	if s.ref.Kind == gatehouse.DraftWindow {
		// A new window's scope is checked when its content is prepared.
		if s.window == nil {
			return nil
		}
		return requireManageScope(who, s.window.Scope)
	}
	if s.ref.Kind == gatehouse.DraftPolicy {
		sc, err := gatehouse.ParseScope("scope", s.policy.Scope)
		if err != nil {
			return err
		}
		return requireManage(who, sc)
	}
	return who.Require(k.action(), s.ref.Target())
}

// judgeTarget is where a policy counts people when it judges a subject: the subject's own
// target, with what the subject leaves open (an app-wide setting names no environment; an
// environment's placement names no app) taken from the policy's scope. A chart change judged
// by a policy on env:prod counts approvers of prod.
func judgeTarget(subjectTarget gatehouse.Target, p *gatehouse.Policy) gatehouse.Target {
	t := subjectTarget
	sc, err := gatehouse.ParseScope("scope", p.Scope)
	if err != nil {
		return t
	}
	if t.Project == "" {
		t.Project = sc.Project
	}
	if t.App == "" {
		t.App = sc.App
	}
	if t.Env == "" {
		t.Env = sc.Env
	}
	return t
}

// judgesOf makes judges of policies for a subject target, each policy once, by name.
func judgesOf(t gatehouse.Target, ps []*gatehouse.Policy) []gatehouse.Judge {
	slices.SortFunc(ps, func(a, b *gatehouse.Policy) int { return strings.Compare(a.Name, b.Name) })
	ps = slices.CompactFunc(ps, func(a, b *gatehouse.Policy) bool { return a.ID == b.ID })
	out := []gatehouse.Judge{}
	for _, p := range ps {
		out = append(out, gatehouse.Judge{Policy: p, Target: judgeTarget(t, p)})
	}
	return out
}

// settingPolicies are the policies that protect settings which decide what runs at the
// targets (an app in an environment each): per target, the config policies that reach it, or
// where none does, the image policies. Every setting that can change what runs where any
// policy reaches is protected like its values.
func settingPolicies(ctx context.Context, q querier, targets []gatehouse.Target) ([]*gatehouse.Policy, error) {
	all, err := allPolicies(ctx, q)
	if err != nil {
		return nil, err
	}
	var out []*gatehouse.Policy
	for _, t := range targets {
		if config := reaching(all, t, gatehouse.PolicyConfig); len(config) > 0 {
			out = append(out, config...)
		} else {
			out = append(out, reaching(all, t, gatehouse.PolicyImage)...)
		}
	}
	return out, nil
}

// envTargets are what runs in an environment: each app of the project there, and the
// environment itself (for policies that name no app).
func envTargets(ctx context.Context, q querier, project, env string) ([]gatehouse.Target, error) {
	apps, err := queryAll(ctx, q, scanString, `SELECT a.name FROM apps a JOIN projects p ON p.id = a.project_id WHERE p.name = $1 ORDER BY a.name`, project)
	if err != nil {
		return nil, fmt.Errorf("apps: %w", err)
	}
	out := []gatehouse.Target{{Project: project, Env: env}}
	for _, a := range apps {
		out = append(out, gatehouse.Target{Project: project, App: a, Env: env})
	}
	return out, nil
}

// appTargets are where an app may run: the app in each environment of its project.
func appTargets(ctx context.Context, q querier, project, app string) ([]gatehouse.Target, error) {
	envs, err := queryAll(ctx, q, scanString, `SELECT e.name FROM environments e JOIN projects p ON p.id = e.project_id
		WHERE p.name = $1 ORDER BY e.name`, project)
	if err != nil {
		return nil, fmt.Errorf("environments: %w", err)
	}
	var out []gatehouse.Target
	for _, e := range envs {
		out = append(out, gatehouse.Target{Project: project, App: app, Env: e})
	}
	return out, nil
}

// protectedEnv reports whether any policy reaches into the environment (for any app).
func protectedEnv(ctx context.Context, q querier, project, env string) (bool, error) {
	ts, err := envTargets(ctx, q, project, env)
	if err != nil {
		return false, err
	}
	ps, err := settingPolicies(ctx, q, ts)
	return len(ps) > 0, err
}
