package gatehouse

import (
	"context"
	"time"
)

// WaitState is where a deployment that met a closed window stands.
type WaitState string

// The wait states: waiting for the window to open, started (the deployment exists), or
// dropped (when the window opened, the deployment could no longer start: the stage left the
// pipeline, the approval ran out, the artifact was retracted).
const (
	WaitWaiting WaitState = "waiting"
	WaitStarted WaitState = "started"
	WaitDropped WaitState = "dropped"
)

// DeploymentWait is an automatic deployment that met a closed window: it waits, durably, and
// starts when the windows let it.
type DeploymentWait struct {
	ID          int64          `json:"id"`
	Project     string         `json:"project"`
	App         string         `json:"app"`
	Environment string         `json:"environment"`
	Stage       string         `json:"stage"`
	Digest      string         `json:"digest"`
	Kind        DeploymentKind `json:"kind"`
	RollbackOf  int64          `json:"rollback_of,omitempty"`
	TriggeredBy string         `json:"triggered_by"`
	State       WaitState      `json:"state"`
	// Verdict is the windows' verdict when it was last judged; its Text is what people see
	// ("closed by window year-end-freeze: opens Sat 2 Jan 2027 00:00 Europe/Berlin").
	Verdict WindowVerdict `json:"verdict"`
	// Message is Verdict's text while it waits, and why it was dropped once it is.
	Message    string     `json:"message"`
	Deployment int64      `json:"deployment,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	EndedAt    *time.Time `json:"ended_at,omitempty"`
}

// WindowState is a target's verdict now, with the windows that reach it.
type WindowState struct {
	Verdict WindowVerdict `json:"verdict"`
	Message string        `json:"message"`
	Windows []string      `json:"windows"`
}

// WindowService manages deployment windows. Windows are settings that decide what may run: a
// change that closes more applies at once; one that opens a protected environment where it
// was closed (a deletion, a shorter freeze, a wider maintenance window) goes through a draft
// of kind window, judged by the policies protecting what it opens.
type WindowService interface {
	// CreateWindow creates a window. Errors: invalid input naming the field; forbidden
	// (manage on the window's project, administer for every project); conflict when the name
	// is taken; precondition failed when the new window loosens a protected environment (an
	// allow window beside others).
	CreateWindow(ctx context.Context, in WindowSpec) (*Window, error)
	// Window returns a window. Errors: not found.
	Window(ctx context.Context, name string) (*Window, error)
	// Windows lists the windows the caller may see; project filters to those reaching it.
	Windows(ctx context.Context, project string) ([]*Window, error)
	// UpdateWindow replaces a window (same name). Errors: as CreateWindow; not found.
	UpdateWindow(ctx context.Context, name string, in WindowSpec) (*Window, error)
	// DeleteWindow deletes a window. Errors: not found; forbidden; precondition failed when
	// that loosens a protected environment.
	DeleteWindow(ctx context.Context, name string) error
	// WindowState says whether the windows let deployments into the target now, and when
	// that changes. Errors: not found (project, app or environment).
	WindowState(ctx context.Context, t Target) (*WindowState, error)
	// Waiting lists the deployments of an app waiting for a window (state "" for those still
	// waiting, or a WaitState). Errors: not found.
	Waiting(ctx context.Context, project, app string, state WaitState) ([]*DeploymentWait, error)
}
