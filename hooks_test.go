package gatehouse_test

import (
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
)

// TestHookImagesByDigestOnly: a hook runs exactly the image that was approved, so an image
// reference without a digest is refused naming the step's field and why.
func TestHookImagesByDigestOnly(t *testing.T) {
	step := func(image string) gatehouse.Hooks {
		return gatehouse.Hooks{PreDeploy: []gatehouse.JobStep{{Name: "migrate", Image: image}}}
	}
	for _, good := range []string{"registry.example.com/migrate@" + digestA, "registry.example.com/migrate:1.2@" + digestA} {
		if err := step(good).Validate("hooks"); err != nil {
			t.Errorf("%s: %v", good, err)
		}
	}
	bad := map[string]string{
		"registry.example.com/migrate:1.2": "has no digest: expected repo[:tag]@sha256:<64 hex digits> (hooks run what was approved, and a tag can move)",
		"registry.example.com/migrate":     "has no digest",
		"":                                 "has no digest",
		"registry.example.com/migrate@sha256:abc": "not a digest",
		"Bad/Repo@" + digestA:                     "not an image repository",
		strings.Repeat("a", 513):                  "longer than 512",
	}
	for image, msg := range bad {
		err := step(image).Validate("hooks")
		e, ok := err.(*gatehouse.Error)
		if !ok || e.Kind != gatehouse.KindInvalid || e.Field != "hooks.pre_deploy[0].image" || !strings.Contains(e.Message, msg) {
			t.Errorf("image %.40q: %v, want hooks.pre_deploy[0].image invalid with %q", image, err, msg)
		}
	}
	post := gatehouse.Hooks{PostDeploy: []gatehouse.JobStep{{Name: "smoke", Image: "registry.example.com/smoke:latest"}}}
	if e, ok := post.Validate("hooks").(*gatehouse.Error); !ok || e.Field != "hooks.post_deploy[0].image" {
		t.Errorf("tag-only post-deploy image: %v", e)
	}
}
