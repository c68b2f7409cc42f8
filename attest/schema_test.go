package attest_test

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
)

// TestSchemaDescribesThePredicate: the published schema names exactly the predicate's
// fields, and a full predicate has every field the schema requires.
func TestSchemaDescribesThePredicate(t *testing.T) {
	raw, err := os.ReadFile("deployment-v1.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Required   []string                   `json:"required"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(predicate())
	var fields map[string]any
	_ = json.Unmarshal(b, &fields)
	fields["break_glass"] = nil // optional, and absent from the example
	for name := range fields {
		if _, ok := schema.Properties[name]; !ok {
			t.Errorf("the predicate has %q, which the schema does not describe", name)
		}
	}
	for name := range schema.Properties {
		if _, ok := fields[name]; !ok {
			t.Errorf("the schema describes %q, which the predicate does not have", name)
		}
	}
	for _, name := range schema.Required {
		if fields[name] == nil && !slices.Contains([]string{"break_glass"}, name) {
			t.Errorf("the schema requires %q, which a full predicate lacks", name)
		}
	}
}
