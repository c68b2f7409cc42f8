package gatehouse

import (
	"fmt"
	"strings"
	"time"
)

// JobStep is a pre- or post-deploy step: a Kubernetes Job run in the target namespace, waited
// on, its logs kept with the deployment. A failing pre-deploy step stops the deployment before
// anything is applied; a failing post-deploy step fails it after.
type JobStep struct {
	Name string `json:"name"`
	// Image is pinned by digest, "repo[:tag]@sha256:<64 hex digits>": a step runs exactly the
	// image that was approved.
	Image   string            `json:"image"`
	Command []string          `json:"command,omitempty"`
	Args    []string          `json:"args,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
	Timeout string            `json:"timeout,omitempty"` // Go duration, default 5m
}

// TimeoutDuration is the step's timeout.
func (j JobStep) TimeoutDuration() time.Duration {
	d, err := time.ParseDuration(j.Timeout)
	if err != nil || d <= 0 {
		return 5 * time.Minute
	}
	return d
}

// Hooks are an app's pre- and post-deploy steps, run in order.
type Hooks struct {
	PreDeploy  []JobStep `json:"pre_deploy,omitempty"`
	PostDeploy []JobStep `json:"post_deploy,omitempty"`
}

// Validate checks every step.
func (h Hooks) Validate(field string) error {
	for list, steps := range map[string][]JobStep{"pre_deploy": h.PreDeploy, "post_deploy": h.PostDeploy} {
		if len(steps) > 10 {
			return Invalidf(field+"."+list, "has %d steps: expected at most 10", len(steps))
		}
		names := map[string]bool{}
		for i, s := range steps {
			f := fmt.Sprintf("%s.%s[%d]", field, list, i)
			if err := ValidateName(f+".name", s.Name); err != nil {
				return err
			}
			if names[s.Name] {
				return Invalidf(f+".name", "step %q is defined twice", s.Name)
			}
			names[s.Name] = true
			if err := validateStepImage(f+".image", s.Image); err != nil {
				return err
			}
			if s.Timeout != "" {
				if d, err := time.ParseDuration(s.Timeout); err != nil || d < time.Second || d > 2*time.Hour {
					return Invalidf(f+".timeout", "%q is not a timeout: expected a duration from 1s to 2h", s.Timeout)
				}
			}
			for k := range s.Env {
				if !labelKeyRE.MatchString(k) {
					return Invalidf(f+".env", "%q is not a variable name", k)
				}
			}
		}
	}
	return nil
}

// validateStepImage accepts only an image pinned by digest: hooks run what was approved, and a
// tag can be moved to another image after the approval.
func validateStepImage(field, image string) error {
	if len(image) > 512 {
		return Invalidf(field, "is longer than 512 characters: expected a container image reference")
	}
	if !strings.Contains(image, "@") {
		return Invalidf(field, "%q has no digest: expected repo[:tag]@sha256:<64 hex digits> (hooks run what was approved, and a tag can move)", image)
	}
	_, _, _, err := ParseImage(field, image)
	return err
}
