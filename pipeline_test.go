package gatehouse_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
)

func TestPipelineValidate(t *testing.T) {
	envs := map[string]bool{"dev": true, "stage": true, "prod": true, "qa": true}
	exists := func(e string) bool { return envs[e] }
	st := func(name, env, after string, trig gatehouse.Trigger) gatehouse.Stage {
		return gatehouse.Stage{Name: name, Environment: env, After: after, Trigger: trig}
	}
	tests := []struct {
		name   string
		stages []gatehouse.Stage
		field  string // "" means valid
		msg    string
	}{
		{"chain", []gatehouse.Stage{st("", "dev", "", "auto"), st("", "stage", "dev", ""), st("", "prod", "stage", "manual")}, "", ""},
		{"parallel siblings", []gatehouse.Stage{st("", "dev", "", ""), st("", "qa", "dev", ""), st("", "stage", "dev", "")}, "", ""},
		{"parent defined later", []gatehouse.Stage{st("", "prod", "stage", ""), st("", "stage", "", "")}, "", ""},
		{"empty", nil, "", ""},
		{"unknown env", []gatehouse.Stage{st("", "nope", "", "")}, "stages[0].environment", "does not exist"},
		{"env twice", []gatehouse.Stage{st("a", "dev", "", ""), st("b", "dev", "", "")}, "stages[1].environment", "used by two stages"},
		{"dup name", []gatehouse.Stage{st("x", "dev", "", ""), st("x", "qa", "", "")}, "stages[1].name", "defined twice"},
		{"bad trigger", []gatehouse.Stage{st("", "dev", "", "sometimes")}, "stages[0].trigger", "expected auto or manual"},
		{"unknown parent", []gatehouse.Stage{st("", "dev", "ghost", "")}, "stages[0].after", "does not exist"},
		{"self parent", []gatehouse.Stage{st("", "dev", "dev", "")}, "stages[0].after", "own ancestor"},
		{"cycle", []gatehouse.Stage{st("", "dev", "prod", ""), st("", "stage", "dev", ""), st("", "prod", "stage", "")}, "stages[0].after", "own ancestor"},
		{"bad name", []gatehouse.Stage{st("Bad_Name", "dev", "", "")}, "stages[0].name", "not a valid name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := gatehouse.PipelineSet{Stages: tt.stages}
			err := in.Validate(exists)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				for _, s := range in.Stages {
					if s.Name != s.Environment && s.Name == "" || s.Trigger == "" {
						t.Errorf("defaults not filled: %+v", s)
					}
				}
				return
			}
			e, ok := err.(*gatehouse.Error)
			if !ok || e.Kind != gatehouse.KindInvalid || e.Field != tt.field || !strings.Contains(e.Message, tt.msg) {
				t.Fatalf("Validate = %#v, want invalid %s containing %q", err, tt.field, tt.msg)
			}
		})
	}
}

func TestPipelineDefaultsAndParent(t *testing.T) {
	in := gatehouse.PipelineSet{Stages: []gatehouse.Stage{{Environment: "dev"}, {Environment: "prod", After: "dev", Trigger: "auto"}}}
	if err := in.Validate(func(string) bool { return true }); err != nil {
		t.Fatal(err)
	}
	if in.Stages[0].Name != "dev" || in.Stages[0].Trigger != gatehouse.TriggerManual {
		t.Fatalf("defaults: %+v", in.Stages[0])
	}
	p := gatehouse.Pipeline{Stages: in.Stages}
	if par := p.Parent("prod"); par == nil || par.Name != "dev" {
		t.Fatalf("Parent(prod) = %v", par)
	}
	if p.Parent("dev") != nil || p.Stage("nope") != nil {
		t.Fatal("dev follows the source; nope does not exist")
	}
}

func TestPipelineLevels(t *testing.T) {
	// Defined out of order, with two branches after dev and one stage after each.
	p := gatehouse.Pipeline{Stages: []gatehouse.Stage{
		{Name: "prod-eu", After: "stage-eu"}, {Name: "dev"}, {Name: "stage-eu", After: "dev"}, {Name: "stage-us", After: "dev"},
		{Name: "prod-us", After: "stage-us"}, {Name: "preview"},
	}}
	var got [][]string
	for _, level := range p.Levels() {
		var names []string
		for _, s := range level {
			names = append(names, s.Name)
		}
		got = append(got, names)
	}
	want := [][]string{{"dev", "preview"}, {"stage-eu", "stage-us"}, {"prod-eu", "prod-us"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Levels() = %v, want %v", got, want)
	}
	if levels := (&gatehouse.Pipeline{}).Levels(); len(levels) != 0 {
		t.Fatalf("an empty pipeline has levels %v", levels)
	}
}
