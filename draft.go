package gatehouse

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// DraftKind names what a draft changes: a configuration resource, a setting that decides what
// runs in an environment, a policy, or a rollback.
type DraftKind string

// The draft kinds. Every setting that can change what runs in a protected environment is a
// kind here: changing it there takes a draft, judged like configuration.
const (
	DraftValues    DraftKind = "values"    // an app's base values, or an environment's value overrides
	DraftConfigMap DraftKind = "configmap" // an environment's ConfigMap data
	DraftSecrets   DraftKind = "secrets"   // an environment's secrets
	// DraftEnvironment is an environment's placement: its cluster and namespace, and the
	// objects its releases may create outside their namespace.
	DraftEnvironment DraftKind = "environment"
	DraftChart       DraftKind = "chart"    // an app's chart, pinned to a version and digest
	DraftHooks       DraftKind = "hooks"    // an app's pre- and post-deploy steps
	DraftPipeline    DraftKind = "pipeline" // an app's pipeline, where it touches protected stages
	DraftPolicy      DraftKind = "policy"   // a change that loosens a policy, or its deletion
	DraftRollback    DraftKind = "rollback" // a rollback that would apply other configuration than the live one
	// DraftAccess is the roles of a user or a group, and a group's members, where a change
	// gives someone a vote under a policy (see Access).
	DraftAccess DraftKind = "access"
	// DraftWindow is a deployment window, where a change (its deletion, a shorter freeze, a
	// wider maintenance window) opens a protected environment at times it was closed.
	DraftWindow DraftKind = "window"
)

// DraftKinds lists every draft kind.
var DraftKinds = []DraftKind{DraftValues, DraftConfigMap, DraftSecrets, DraftEnvironment, DraftChart, DraftHooks,
	DraftPipeline, DraftPolicy, DraftRollback, DraftAccess, DraftWindow}

// VoteActions are the approve actions whose holders a judge of a draft of the kind may count:
// approve-config for configuration and rollbacks (config policies judge them); for settings
// that decide what runs (an environment's placement, a chart, hooks, a pipeline, a window),
// approve-config or approve-image (config policies where they reach, else image policies);
// for a policy or access change, any approve action and, under the lock-out rule, manage.
func (k DraftKind) VoteActions() []Action {
	switch k {
	case DraftValues, DraftConfigMap, DraftSecrets, DraftRollback:
		return []Action{ActionApproveConfig}
	case DraftPolicy, DraftAccess:
		return []Action{ActionApproveConfig, ActionApproveImage, ActionManage}
	}
	return []Action{ActionApproveConfig, ActionApproveImage}
}

// Config returns the configuration resource kind a draft kind changes, if it is one.
func (k DraftKind) Config() (ConfigKind, bool) {
	c := ConfigKind(k)
	return c, slices.Contains(ConfigKinds, c)
}

// draftLevel says what a draft kind belongs to: which of project, app, environment, policy
// and principal (a user or a group) name its subject, and which must be empty.
type draftLevel struct{ app, env, policy, window, envOptional, principal bool }

var draftLevels = map[DraftKind]draftLevel{
	DraftValues: {app: true, env: true, envOptional: true}, DraftConfigMap: {app: true, env: true}, DraftSecrets: {app: true, env: true},
	DraftEnvironment: {env: true}, DraftChart: {app: true}, DraftHooks: {app: true}, DraftPipeline: {app: true},
	DraftPolicy: {policy: true}, DraftRollback: {app: true, env: true}, DraftAccess: {principal: true},
	DraftWindow: {window: true},
}

// DraftRef names what a draft changes. Which fields it takes depends on the kind: a
// configuration resource names its project, app and (but for base values) environment; an
// environment's placement its project and environment; an app's chart, hooks and pipeline its
// project and app; a policy its name; a rollback its project, app and environment; access a
// user or a group.
type DraftRef struct {
	Kind        DraftKind `json:"kind"`
	Project     string    `json:"project,omitempty"`
	App         string    `json:"app,omitempty"`
	Environment string    `json:"environment,omitempty"`
	Policy      string    `json:"policy,omitempty"`
	Window      string    `json:"window,omitempty"`
	User        string    `json:"user,omitempty"`
	Group       string    `json:"group,omitempty"`
}

// Validate checks the kind and that exactly the fields it takes are set and well formed.
func (r DraftRef) Validate() error {
	lv, ok := draftLevels[r.Kind]
	if !ok {
		return Invalidf("kind", "%q is not a draft kind: expected values, configmap, secrets, environment, chart, hooks, pipeline, policy, rollback, access or window", r.Kind)
	}
	check := func(field, v string, wanted, optional bool) error {
		switch {
		case !wanted && v != "":
			return Invalidf(field, "a %s draft names no %s: expected it empty", r.Kind, field)
		case wanted && v == "" && optional:
			return nil
		case wanted:
			return ValidateName(field, v)
		}
		return nil
	}
	if err := r.validatePrincipal(lv.principal); err != nil {
		return err
	}
	if err := check("project", r.Project, !lv.policy && !lv.principal && !lv.window, false); err != nil {
		return err
	}
	if err := check("app", r.App, lv.app, false); err != nil {
		return err
	}
	if err := check("environment", r.Environment, lv.env, lv.envOptional); err != nil {
		return err
	}
	if err := check("window", r.Window, lv.window, false); err != nil {
		return err
	}
	return check("policy", r.Policy, lv.policy, false)
}

// validatePrincipal checks that an access draft names exactly one of a user and a group, and
// that other kinds name neither.
func (r DraftRef) validatePrincipal(wanted bool) error {
	switch {
	case !wanted && r.User != "":
		return Invalidf("user", "a %s draft names no user: expected it empty", r.Kind)
	case !wanted && r.Group != "":
		return Invalidf("group", "a %s draft names no group: expected it empty", r.Kind)
	case !wanted:
		return nil
	case (r.User == "") == (r.Group == ""):
		return Invalidf("user", "an access draft names exactly one of user or group")
	case r.User != "":
		return ValidateUserName("user", r.User)
	}
	return ValidateName("group", r.Group)
}

// Target is the access target of the subject (a policy's and a principal's are the system:
// the store reads their scopes).
func (r DraftRef) Target() Target { return Target{Project: r.Project, App: r.App, Env: r.Environment} }

// String names the subject for people: "shop/web prod secrets", "placement of environment
// shop/prod", "chart of app shop/web", "policy prod-gate", "rollback of shop/web in prod".
func (r DraftRef) String() string {
	switch r.Kind {
	case DraftEnvironment:
		return fmt.Sprintf("placement of environment %s/%s", r.Project, r.Environment)
	case DraftChart, DraftHooks, DraftPipeline:
		return fmt.Sprintf("%s of app %s/%s", r.Kind, r.Project, r.App)
	case DraftPolicy:
		return "policy " + r.Policy
	case DraftWindow:
		return "window " + r.Window
	case DraftRollback:
		return fmt.Sprintf("rollback of %s/%s in %s", r.Project, r.App, r.Environment)
	case DraftAccess:
		if r.User != "" {
			return "access of user " + r.User
		}
		return "access of group " + r.Group
	}
	where := r.Environment
	if where == "" {
		where = "base"
	}
	return fmt.Sprintf("%s/%s %s %s", r.Project, r.App, where, r.Kind)
}

// DraftVersion is one version of a draft's content, by whom and why. Author is the account
// that wrote it; Person is who that counts as (for a service account's token, its maker).
type DraftVersion struct {
	Version int64     `json:"version"`
	Author  string    `json:"author"`
	Person  string    `json:"person,omitempty"`
	Comment string    `json:"comment,omitempty"`
	Time    time.Time `json:"time"`
}

// DraftComment is a remark on a draft.
type DraftComment struct {
	Author string    `json:"author"`
	Text   string    `json:"text"`
	Time   time.Time `json:"time"`
}

// Draft is a proposed change of something that decides what runs in a protected environment:
// a configuration resource, a setting, a policy loosening or a rollback. Approvals are for a
// version: a new version needs them again, and a vote names the version it is for. Nobody who
// wrote a version may approve it.
type Draft struct {
	ID int64 `json:"id"`
	DraftRef
	State    DraftState     `json:"state"`
	Version  int64          `json:"version"`
	Content  string         `json:"content"` // the latest version (secret values masked)
	Author   string         `json:"author"`  // who opened it
	Authors  []string       `json:"authors"` // the people who wrote any version
	Versions []DraftVersion `json:"versions"`
	Comments []DraftComment `json:"comments"`
	Change   *ConfigChange  `json:"change"` // against what is live
	Policies []PolicyRef    `json:"policies"`
	Notify   []string       `json:"notify"`
	Votes    []Vote         `json:"votes"` // on the latest version
	Verdicts []Verdict      `json:"verdicts"`
	Reason   string         `json:"reason,omitempty"`
	// Lockout says the draft is judged by the lock-out rule: its policy's own approvers are
	// all gone (see LockoutPolicy).
	Lockout bool `json:"lockout,omitempty"`
	// PublishedRevision is the app configuration revision publishing made (configuration
	// kinds), or the deployment it queued (rollbacks).
	PublishedRevision int64      `json:"published_revision,omitempty"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
	DecidedAt         *time.Time `json:"decided_at,omitempty"`
}

// Approvers lists the people who approved the latest version.
func (d *Draft) Approvers() []string { return approvers(d.Votes) }

// ConfigWrite is new content for a configuration resource or a draft. BaseVersion, for a
// draft, is the version the writer started from: a draft that has moved on since is refused
// ("draft changed, reload"), so concurrent edits never overwrite each other.
type ConfigWrite struct {
	Content     string `json:"content"`
	Comment     string `json:"comment"`
	BaseVersion int64  `json:"base_version,omitempty"`
}

// Validate checks the comment; content is checked against its kind by the service.
func (in ConfigWrite) Validate() error { return validateText("comment", in.Comment, 4096) }

// DraftCreate opens a draft of any kind: what it changes and its first version.
type DraftCreate struct {
	DraftRef
	ConfigWrite
}

// DraftPropose asks for approval of a draft, notifying the chosen approvers (all eligible
// ones when none are chosen).
type DraftPropose struct {
	Comment string   `json:"comment"`
	Notify  []string `json:"notify"`
}

// DraftNote is the body of a draft's comment (Text) and discard (Reason, optional).
type DraftNote struct {
	Text   string `json:"text,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Validate checks every field.
func (in DraftPropose) Validate() error {
	if err := validateText("comment", in.Comment, 4096); err != nil {
		return err
	}
	return validateNotify(in.Notify)
}

// DraftFilter selects drafts.
type DraftFilter struct {
	Project     string
	App         string
	Environment string
	Kind        DraftKind
	State       DraftState
	// ForMe selects proposed drafts the caller could approve now.
	ForMe bool
	Limit int
	// Cursor is where the page starts: a Page's Next ("" for the newest).
	Cursor string
}

// DraftService reads and decides drafts of every kind. Writing a draft needs what changing its
// subject directly would need (manage on the app or environment; for a policy, manage on its
// scope); voting needs the approver role its judges count; anyone who can see a draft may
// comment on it.
type DraftService interface {
	// Live returns a draft kind's subject as it is now, in the form a draft of it takes (YAML,
	// secret values masked), whether changes of it are protected, by which policies, and its
	// open draft. Errors: invalid reference; not found.
	Live(ctx context.Context, ref DraftRef) (*Live, error)
	// CreateDraft opens a draft with its first version. Errors: invalid content (naming the
	// line or path, never a secret value); not found; forbidden; precondition failed when the
	// subject is not protected (change it directly) or the draft changes nothing; conflict
	// when a draft of it is open.
	CreateDraft(ctx context.Context, in DraftCreate) (*Draft, error)
	// Draft returns a draft with its change, versions, comments, votes and verdicts. Errors:
	// not found.
	Draft(ctx context.Context, id int64) (*Draft, error)
	// Drafts lists a page of the drafts the caller may see, newest first. Errors: invalid
	// limit, kind, state or cursor.
	Drafts(ctx context.Context, f DraftFilter) (Page[*Draft], error)
	// EditDraft adds a version. A proposed or approved draft goes back to proposed: approvals
	// are for a version. Errors: invalid content; conflict "draft changed, reload" when
	// BaseVersion is not the latest; precondition failed when the draft is not open.
	EditDraft(ctx context.Context, id int64, in ConfigWrite) (*Draft, error)
	// CommentDraft adds a remark (anyone who can see the draft). Errors: not found; invalid.
	CommentDraft(ctx context.Context, id int64, text string) (*Draft, error)
	// ProposeDraft asks for approval and notifies approvers. Errors: precondition failed when
	// not in draft state or when it changes nothing.
	ProposeDraft(ctx context.Context, id int64, in DraftPropose) (*Draft, error)
	// ApproveDraft records the caller's approval of the version d names. Errors: invalid
	// without a version; conflict "changed since you looked" when it is not the latest, and
	// when the caller voted on it; forbidden for authors, service accounts, API tokens and
	// people the judges do not count (with why); precondition failed unless proposed.
	ApproveDraft(ctx context.Context, id int64, d Decision) (*Draft, error)
	// RejectDraft sends a proposed draft back to its authors with a reason. Errors: as
	// ApproveDraft; invalid without a reason.
	RejectDraft(ctx context.Context, id int64, d Decision) (*Draft, error)
	// PublishDraft applies an approved draft, judging it again first (eligibility now,
	// policies now). Errors: precondition failed when not approved, when approvals no longer
	// suffice (saying what is missing), or when the subject changed since the draft began
	// (stale: start again from what is live).
	PublishDraft(ctx context.Context, id int64) (*Draft, error)
	// DiscardDraft ends an open draft. Errors: precondition failed when not open.
	DiscardDraft(ctx context.Context, id int64, reason string) (*Draft, error)
}
