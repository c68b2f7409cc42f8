package gatehouse

import (
	"context"
	"fmt"
	"time"
)

// Trigger says whether a stage deploys by itself once its gate opens.
type Trigger string

// The triggers.
const (
	TriggerAuto   Trigger = "auto"   // deploy as soon as the previous stage succeeded and the gate is open
	TriggerManual Trigger = "manual" // a deployer starts the deployment
)

// Stage is one step of a pipeline: deploying to one environment. After names the parent stage;
// "" means the stage follows the source (new artifacts). Stages with the same parent are
// siblings and run in parallel.
//
// Timeout bounds how long a deployment to the stage may take to become ready (a Go duration,
// default 5m); AutoRollback returns the environment to its last good release when it does not.
type Stage struct {
	Name         string  `json:"name"`
	Environment  string  `json:"environment"`
	After        string  `json:"after"`
	Trigger      Trigger `json:"trigger"`
	Timeout      string  `json:"timeout,omitempty"`
	AutoRollback bool    `json:"auto_rollback"`
}

// DefaultStageTimeout is a stage's readiness timeout unless it sets one.
const DefaultStageTimeout = 5 * time.Minute

// TimeoutDuration is the stage's readiness timeout.
func (s Stage) TimeoutDuration() time.Duration {
	d, err := time.ParseDuration(s.Timeout)
	if err != nil || d <= 0 {
		return DefaultStageTimeout
	}
	return d
}

// Pipeline is an app's tree of stages, rooted at the source.
type Pipeline struct {
	Project   string    `json:"project"`
	App       string    `json:"app"`
	Stages    []Stage   `json:"stages"`
	UpdatedAt time.Time `json:"updated_at"`
	// Windows is, as read, each stage's window verdict now, by stage name.
	Windows map[string]WindowVerdict `json:"windows,omitempty"`
	// Waiting are, as read, the deployments waiting for a stage's windows to open.
	Waiting []*DeploymentWait `json:"waiting,omitempty"`
}

// PipelineSet is the input that replaces an app's pipeline.
type PipelineSet struct {
	Stages []Stage `json:"stages"`
}

// Validate checks the stages and fills defaults (a stage's name defaults to its environment,
// its trigger to manual). envExists reports whether the project has the environment. A valid
// pipeline has unique stage names, uses each environment once, and every After names an
// earlier-defined or later stage such that following After links always reaches the source.
func (in *PipelineSet) Validate(envExists func(string) bool) error {
	if len(in.Stages) > 50 {
		return Invalidf("stages", "has %d stages: expected at most 50", len(in.Stages))
	}
	names := map[string]int{}
	envs := map[string]bool{}
	for i := range in.Stages {
		s := &in.Stages[i]
		field := fmt.Sprintf("stages[%d]", i)
		if err := ValidateName(field+".environment", s.Environment); err != nil {
			return err
		}
		if !envExists(s.Environment) {
			return Invalidf(field+".environment", "environment %q does not exist in this project", s.Environment)
		}
		if envs[s.Environment] {
			return Invalidf(field+".environment", "environment %q is used by two stages: expected each environment at most once", s.Environment)
		}
		envs[s.Environment] = true
		if s.Name == "" {
			s.Name = s.Environment
		}
		if err := ValidateName(field+".name", s.Name); err != nil {
			return err
		}
		if _, dup := names[s.Name]; dup {
			return Invalidf(field+".name", "stage %q is defined twice: expected unique stage names", s.Name)
		}
		names[s.Name] = i
		if s.Timeout != "" {
			if d, err := time.ParseDuration(s.Timeout); err != nil || d < time.Second || d > 2*time.Hour {
				return Invalidf(field+".timeout", "%q is not a timeout: expected a duration from 1s to 2h, e.g. \"5m\"", s.Timeout)
			}
		}
		switch s.Trigger {
		case "":
			s.Trigger = TriggerManual
		case TriggerAuto, TriggerManual:
		default:
			return Invalidf(field+".trigger", "%q is not a trigger: expected auto or manual", s.Trigger)
		}
	}
	for i, s := range in.Stages {
		if s.After == "" {
			continue
		}
		if _, ok := names[s.After]; !ok {
			return Invalidf(fmt.Sprintf("stages[%d].after", i), "stage %q does not exist: expected the name of another stage, or empty for the source", s.After)
		}
		// Walk up the parents: more steps than stages means a cycle.
		cur := s
		for steps := 0; cur.After != ""; steps++ {
			if steps > len(in.Stages) || cur.After == s.Name {
				return Invalidf(fmt.Sprintf("stages[%d].after", i), "stage %q is its own ancestor: expected every chain of after links to reach the source", s.Name)
			}
			cur = in.Stages[names[cur.After]]
		}
	}
	return nil
}

// Parent returns the stage's parent, or nil for a stage that follows the source.
func (p *Pipeline) Parent(stage string) *Stage {
	for _, s := range p.Stages {
		if s.Name == stage && s.After != "" {
			return p.Stage(s.After)
		}
	}
	return nil
}

// Children returns the stages that follow the named stage ("" for the source).
func (p *Pipeline) Children(stage string) []Stage {
	var out []Stage
	for _, s := range p.Stages {
		if s.After == stage {
			out = append(out, s)
		}
	}
	return out
}

// Levels groups the stages by their distance from the source: first those that follow the
// source, then those that follow them, and so on (the pipeline's graph, column by column).
// Every stage of a valid pipeline is in exactly one level.
func (p *Pipeline) Levels() [][]Stage {
	var out [][]Stage
	for level := p.Children(""); len(level) > 0; {
		out = append(out, level)
		var next []Stage
		for _, s := range level {
			next = append(next, p.Children(s.Name)...)
		}
		level = next
	}
	return out
}

// StageFor returns the stage that deploys to the environment, or nil.
func (p *Pipeline) StageFor(env string) *Stage {
	for i := range p.Stages {
		if p.Stages[i].Environment == env {
			return &p.Stages[i]
		}
	}
	return nil
}

// Stage returns the named stage, or nil.
func (p *Pipeline) Stage(name string) *Stage {
	for i := range p.Stages {
		if p.Stages[i].Name == name {
			return &p.Stages[i]
		}
	}
	return nil
}

// PipelineService manages apps' pipelines.
type PipelineService interface {
	// Pipeline returns an app's pipeline; an app without one has no stages. Errors: not found.
	Pipeline(ctx context.Context, project, app string) (*Pipeline, error)
	// SetPipeline replaces an app's pipeline. Errors: invalid input (naming the stage at fault);
	// not found; forbidden without manage on the app.
	SetPipeline(ctx context.Context, project, app string, in PipelineSet) (*Pipeline, error)
}
