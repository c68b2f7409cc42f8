package gatehouse

import (
	"context"
	"fmt"
	"time"
)

// DeploymentState is where a deployment is in its life. The order is fixed:
// queued → pre-deploy → applying → verifying → post-deploy → succeeded, and from any active
// state to failed; a failed verification may end in rolled-back instead.
type DeploymentState string

// The deployment states.
const (
	StateQueued     DeploymentState = "queued"
	StatePreDeploy  DeploymentState = "pre-deploy"
	StateApplying   DeploymentState = "applying"
	StateVerifying  DeploymentState = "verifying"
	StatePostDeploy DeploymentState = "post-deploy"
	StateSucceeded  DeploymentState = "succeeded"
	StateFailed     DeploymentState = "failed"
	StateRolledBack DeploymentState = "rolled-back"
)

var nextStates = map[DeploymentState][]DeploymentState{
	StateQueued:     {StatePreDeploy, StateFailed},
	StatePreDeploy:  {StateApplying, StateFailed},
	StateApplying:   {StateVerifying, StateFailed},
	StateVerifying:  {StatePostDeploy, StateFailed, StateRolledBack},
	StatePostDeploy: {StateSucceeded, StateFailed},
}

// ActiveStates are the states in which a deployment holds its release: at most one deployment
// of an app to an environment is in one of them. Different apps sharing an environment deploy
// side by side, as their Helm releases are independent.
var ActiveStates = []DeploymentState{StatePreDeploy, StateApplying, StateVerifying, StatePostDeploy}

// Terminal reports whether the deployment is over.
func (s DeploymentState) Terminal() bool {
	return s == StateSucceeded || s == StateFailed || s == StateRolledBack
}

// CanMoveTo reports whether the state machine allows moving from s to t.
func (s DeploymentState) CanMoveTo(t DeploymentState) bool {
	for _, n := range nextStates[s] {
		if n == t {
			return true
		}
	}
	return false
}

// DeploymentKind says why a deployment exists.
type DeploymentKind string

// The deployment kinds.
const (
	KindDeploy   DeploymentKind = "deploy"   // a new artifact or config to an environment
	KindRollback DeploymentKind = "rollback" // an earlier deployment's artifact and config again
)

// Deployment is one run of a pipeline stage: an artifact and a config snapshot applied to an
// environment. Values is the full Helm values it used (image included), so it can be compared
// with any other deployment and redeployed exactly.
type Deployment struct {
	ID             int64  `json:"id"`
	Project        string `json:"project"`
	App            string `json:"app"`
	Environment    string `json:"environment"`
	Stage          string `json:"stage"`
	Cluster        string `json:"cluster"`
	Namespace      string `json:"namespace"`
	Release        string `json:"release"`
	Image          string `json:"image"`
	Digest         string `json:"digest"`
	ConfigRevision int64  `json:"config_revision"`
	Values         string `json:"values"`
	// ConfigChanges is how its configuration differs from the environment's previous
	// successful deployment (secret values masked; the image is compared apart).
	ConfigChanges []ValueChange   `json:"config_changes"`
	Kind          DeploymentKind  `json:"kind"`
	RollbackOf    int64           `json:"rollback_of,omitempty"`
	State         DeploymentState `json:"state"`
	Cause         string          `json:"cause,omitempty"`
	HelmRevision  int             `json:"helm_revision,omitempty"`
	TriggeredBy   string          `json:"triggered_by"`
	// BreakGlass is the reason given when a person started it with break-glass: the badge.
	BreakGlass string            `json:"break_glass,omitempty"`
	CreatedAt  time.Time         `json:"created_at"`
	StartedAt  *time.Time        `json:"started_at,omitempty"`
	FinishedAt *time.Time        `json:"finished_at,omitempty"`
	Events     []DeploymentEvent `json:"events,omitempty"`
}

// Target is the access target of the deployment.
func (d *Deployment) Target() Target {
	return Target{Project: d.Project, App: d.App, Env: d.Environment}
}

// Duration is how long the deployment ran, or has run so far.
func (d *Deployment) Duration(now time.Time) time.Duration {
	if d.StartedAt == nil {
		return 0
	}
	end := now
	if d.FinishedAt != nil {
		end = *d.FinishedAt
	}
	return end.Sub(*d.StartedAt)
}

// DeploymentEvent is one line of a deployment's progress: a step and what happened.
type DeploymentEvent struct {
	Seq     int       `json:"seq"`
	Time    time.Time `json:"time"`
	Step    string    `json:"step"`
	Message string    `json:"message"`
}

// DeploymentCreate asks for an artifact to be deployed to a stage's environment.
type DeploymentCreate struct {
	Environment string `json:"environment"`
	Digest      string `json:"digest"`
	// BreakGlass, when set, is the reason a person holding break-glass starts the deployment
	// through closed windows and without the approval its gate demands.
	BreakGlass string `json:"break_glass,omitempty"`
}

// Validate checks every field.
func (in DeploymentCreate) Validate() error {
	if err := ValidateName("environment", in.Environment); err != nil {
		return err
	}
	if in.BreakGlass != "" {
		if err := ValidateBreakGlassReason("break_glass", in.BreakGlass); err != nil {
			return err
		}
	}
	return ValidateDigest("digest", in.Digest)
}

// DeploymentFilter selects deployments of an app.
type DeploymentFilter struct {
	Environment string
	Limit       int    // default 50, at most 1000
	Cursor      string // where the page starts: a Page's Next ("" for the newest)
}

// DeploymentDiff compares two deployments of an app: artifact and values.
type DeploymentDiff struct {
	From    *Deployment   `json:"from"`
	To      *Deployment   `json:"to"`
	Image   *ValueChange  `json:"image,omitempty"`
	Changes []ValueChange `json:"changes"`
	// SecretsByKey means the deployments are of different environments, so Changes compare
	// secrets by key only (SecretsByKeyNote): never whether their values are equal.
	SecretsByKey bool `json:"secrets_by_key,omitempty"`
}

// DeploymentService starts deployments and reads their history.
type DeploymentService interface {
	// Deploy queues a deployment of an artifact to an environment that is a stage of the app's
	// pipeline; it waits its turn while another deployment of the app to that environment runs,
	// and older ones go first. Errors:
	// invalid input; not found (app, environment, artifact); forbidden without deploy on the
	// app's environment; precondition failed when the environment is not a stage of the
	// pipeline or the artifact was retracted.
	Deploy(ctx context.Context, project, app string, in DeploymentCreate) (*Deployment, error)
	// Deployment returns one deployment with its events. Errors: not found.
	Deployment(ctx context.Context, project, app string, id int64) (*Deployment, error)
	// Deployments lists a page of an app's deployments, newest first. Errors: invalid limit
	// or cursor.
	Deployments(ctx context.Context, project, app string, f DeploymentFilter) (Page[*Deployment], error)
	// Rollback queues a deployment of an earlier deployment's artifact and values to its
	// environment. Errors: not found; forbidden; precondition failed when that deployment
	// never succeeded.
	Rollback(ctx context.Context, project, app string, id int64) (*Deployment, error)
	// DiffDeployments compares two deployments of an app: image and values, a changed secret
	// as "••• changed" within one environment, and secrets by key only across two (never
	// whether their values are equal). Errors: not found.
	DiffDeployments(ctx context.Context, project, app string, from, to int64) (*DeploymentDiff, error)
	// Preview shows what deploying the artifact to the environment would change compared with
	// its last successful deployment: image and values, secret values masked. Errors: invalid
	// input; not found.
	Preview(ctx context.Context, project, app string, in DeploymentCreate) (*DeploymentPreview, error)
}

// DeploymentPreview is what a deployment would change in an environment: the image, the
// values (secret values masked), and the chart (pinned version and digest) and hooks it
// would run, with how they differ from what the previous deployment ran.
type DeploymentPreview struct {
	Previous    *Deployment   `json:"previous,omitempty"`
	ImageChange *ValueChange  `json:"image_change,omitempty"`
	Changes     []ValueChange `json:"changes"`
	Chart       Chart         `json:"chart"`
	Hooks       Hooks         `json:"hooks"`
	// Settings are the changes of chart and hooks since the previous deployment.
	Settings []ValueChange `json:"settings"`
}

// ReleaseName is the Helm release of an app: the app's name, unique within a namespace.
func ReleaseName(app string) string { return app }

// Describe renders the deployment in one line for logs.
func (d *Deployment) Describe() string {
	return fmt.Sprintf("deployment %d (%s/%s to %s, %s)", d.ID, d.Project, d.App, d.Environment, d.Digest)
}
