package gatehouse_test

import (
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
)

// TestConditionsCannotReadNotes: notes can be changed after the push by anyone who may push,
// so a condition that names them, however it reaches them, is refused when it is compiled,
// with a message that says why and what to use; a misspelt fact is refused the same way
// rather than failing at every deploy.
func TestConditionsCannotReadNotes(t *testing.T) {
	for _, expr := range []string{
		`artifact.notes["tests"] == "passed"`,
		`has(artifact.notes.tests)`,
		`artifact["notes"]["tests"] == "passed"`,
		`artifact.registry == "r.example.com" || "tests" in artifact.notes`,
	} {
		_, err := gatehouse.CompileConditions("conditions", []string{`true`, expr})
		e, ok := err.(*gatehouse.Error)
		if !ok || e.Kind != gatehouse.KindInvalid || e.Field != "conditions[1]" ||
			!strings.Contains(e.Message, "artifact.notes") || !strings.Contains(e.Message, "artifact.labels") {
			t.Errorf("%s: %v, want invalid conditions[1] explaining notes are not for conditions", expr, err)
		}
	}
	_, err := gatehouse.CompileConditions("conditions", []string{`artifact.lables["tests"] == "passed"`})
	if e, ok := err.(*gatehouse.Error); !ok || e.Field != "conditions[0]" || !strings.Contains(e.Message, "artifact.lables") || !strings.Contains(e.Message, "labels") {
		t.Errorf("misspelt fact: %v", err)
	}
	// Every fact the conditions see can be named.
	for _, expr := range []string{
		`artifact.registry != "" && artifact.repository != "" && artifact.digest != "" && size(artifact.tags) >= 0`,
		`size(artifact.labels) >= 0 && artifact.commit == "" && artifact.commit_author == "" && artifact.builder == ""`,
		`artifact["labels"].exists(k, k == "tests")`,
	} {
		if _, err := gatehouse.CompileConditions("conditions", []string{expr}); err != nil {
			t.Errorf("%s: %v", expr, err)
		}
	}
}
