package gatehouse

import "time"

// DORAReport holds the four DORA metrics of a scope over a period, each with its band, and
// their weekly trend.
type DORAReport struct {
	Query MetricsQuery `json:"query"`
	// Environments are the environments counted (by default the production ones).
	Environments []string        `json:"environments"`
	Frequency    FrequencyFigure `json:"deployment_frequency"`
	LeadTime     LeadTimeFigure  `json:"lead_time"`
	Failures     FailureFigure   `json:"change_failure_rate"`
	Restore      RestoreFigure   `json:"time_to_restore"`
	Weeks        []DORAWeek      `json:"weeks"`
	Window       float64         `json:"failure_window_seconds"`
	Notes        []string        `json:"notes,omitempty"`
}

// FrequencyFigure is deployment frequency: succeeded deployments per day of the period, and
// the number of days (UTC) with at least one.
type FrequencyFigure struct {
	Deployments int     `json:"deployments"`
	Days        float64 `json:"days"`
	PerDay      float64 `json:"per_day"`
	ActiveDays  int     `json:"active_days"`
	Band        Band    `json:"band"`
	// BreakGlass counts the deployments that ended in the period (of any outcome) that a
	// person started with break-glass: emergencies, counted apart.
	BreakGlass int `json:"break_glass"`
}

// LeadTimeFigure is lead time for changes: from commit (push when CI gave no commit time) to
// the end of the deployment that first brought the digest to the environment.
type LeadTimeFigure struct {
	Stat              Stat `json:"stat"`
	WithoutCommitTime int  `json:"without_commit_time"`
	Band              Band `json:"band"`
}

// FailureFigure is change failure rate: failed changes over deployments that ended.
type FailureFigure struct {
	Ended  int     `json:"ended"`
	Failed int     `json:"failed"`
	Rate   float64 `json:"rate"`
	Band   Band    `json:"band"`
}

// RestoreFigure is time to restore: from the end of a failed change to the end of the next
// deployment of the app to the environment that succeeded.
type RestoreFigure struct {
	Stat       Stat `json:"stat"`
	Unrestored int  `json:"unrestored"`
	Band       Band `json:"band"`
}

// DORAWeek is one week (Monday 00:00 UTC on) of the trend. A week the period cuts holds the
// part inside the period.
type DORAWeek struct {
	Start       time.Time `json:"start"`
	Deployments int       `json:"deployments"`
	Ended       int       `json:"ended"`
	Failed      int       `json:"failed"`
	FailureRate float64   `json:"failure_rate"`
	LeadTime    Stat      `json:"lead_time"`
	Restore     Stat      `json:"restore"`
}

// LeadStage is a stretch of a change's lead time, named by the moment it ends.
type LeadStage string

// The stages of a change's lead time, in order; they add up to the lead time. A change with
// no approval request has no requested and approved stages (its approved stage's time, from
// push to queue, is in queued); a change without a commit time has no pushed stage.
const (
	LeadPushed    LeadStage = "pushed"    // commit → pushed
	LeadRequested LeadStage = "requested" // pushed → approval requested
	LeadApproved  LeadStage = "approved"  // requested → approved: the approval wait
	LeadQueued    LeadStage = "queued"    // approved (or pushed) → deployment queued
	LeadStarted   LeadStage = "started"   // queued → started
	LeadReady     LeadStage = "ready"     // started → ready (the deployment succeeded)
)

// LeadStages lists the stages in order.
var LeadStages = []LeadStage{LeadPushed, LeadRequested, LeadApproved, LeadQueued, LeadStarted, LeadReady}

// LeadStageLabels says where each stage starts and ends, for people.
var LeadStageLabels = map[LeadStage]string{
	LeadPushed: "commit → pushed", LeadRequested: "pushed → approval requested", LeadApproved: "requested → approved",
	LeadQueued: "approved → queued", LeadStarted: "queued → started", LeadReady: "started → ready",
}

// LeadTimeReport splits the lead time of the changes that reached the scope in the period.
type LeadTimeReport struct {
	Query             MetricsQuery     `json:"query"`
	Environments      []string         `json:"environments"`
	Changes           int              `json:"changes"`
	WithoutCommitTime int              `json:"without_commit_time"`
	LeadTime          Stat             `json:"lead_time"`
	Stages            []StageFigure    `json:"stages"`
	ApprovalWait      Stat             `json:"approval_wait"`
	ApprovalShare     float64          `json:"approval_share"`
	Policies          []WaitFigure     `json:"policies"`
	Approvers         []ApproverFigure `json:"approvers"`
	Drafts            []DraftFigure    `json:"drafts"`
	Weeks             []LeadTimeWeek   `json:"weeks"`
}

// StageFigure is one stage over the changes that had it.
type StageFigure struct {
	Stage LeadStage `json:"stage"`
	Label string    `json:"label"`
	Stat  Stat      `json:"stat"`
}

// WaitFigure is the approval wait of the requests a policy judged.
type WaitFigure struct {
	Policy string `json:"policy"`
	Wait   Stat   `json:"wait"`
}

// ApproverFigure is how long one approver took from request to their vote, over the votes
// they gave on the changes counted.
type ApproverFigure struct {
	Approver string `json:"approver"`
	Votes    int    `json:"votes"`
	Wait     Stat   `json:"wait"`
}

// DraftFigure is the drafts of one kind published in the period: proposed → approved
// (review), approved → published, and proposed → published.
type DraftFigure struct {
	Kind      DraftKind `json:"kind"`
	Published int       `json:"published"`
	Review    Stat      `json:"review"`
	Publish   Stat      `json:"publish"`
	Total     Stat      `json:"total"`
}

// LeadTimeWeek is one week of the breakdown: the changes that reached the scope that week
// and the mean of each stage over them (a stage a change lacks counts as zero), so the
// stages add up to the week's mean lead time.
type LeadTimeWeek struct {
	Start   time.Time `json:"start"`
	Changes int       `json:"changes"`
	// Seconds holds the mean of each stage, in the order of LeadStages.
	Seconds []float64 `json:"stage_mean_seconds"`
}
