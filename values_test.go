package gatehouse_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
)

func mustValues(t testing.TB, s string) gatehouse.Values {
	t.Helper()
	v, err := gatehouse.ParseValues("values", s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMergeValues(t *testing.T) {
	base := mustValues(t, "replicas: 1\nimage: {pullPolicy: Always, tag: x}\nargs: [a, b]\nconfig: {A: 1}\n")
	over := mustValues(t, "replicas: 3\nargs: [c]\nconfig: {B: 2}\n")
	got := gatehouse.MergeValues(base, over)
	want := mustValues(t, "replicas: 3\nimage: {pullPolicy: Always, tag: x}\nargs: [c]\nconfig: {A: 1, B: 2}\n")
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("merge = %v\nwant   %v", got, want)
	}
	if base["replicas"] != 1 || len(base["config"].(map[string]any)) != 1 {
		t.Fatalf("merge changed its input: %v", base)
	}
	art := &gatehouse.Artifact{Repository: "r.example.com/web", Digest: digestA, Tags: []string{"1.0"}}
	img := gatehouse.MergeValues(base, gatehouse.ImageValues(art))["image"].(map[string]any)
	if img["pullPolicy"] != "Always" || img["digest"] != digestA || img["tag"] != "1.0@"+digestA {
		t.Fatalf("image values = %v", img)
	}
}

func TestDiffValues(t *testing.T) {
	a := mustValues(t, "replicas: 2\nimage: {tag: v1}\nenv: [{name: A, value: '1'}, {name: B, value: '2'}]\nannotations: {example.com/x: on}\ngone: 1\n")
	b := mustValues(t, "replicas: 3\nimage: {tag: v1, pullPolicy: Always}\nenv: [{name: A, value: '9'}]\nannotations: {example.com/x: off}\n")
	got := gatehouse.DiffValues(a, b)
	want := []gatehouse.ValueChange{
		{Path: `annotations["example.com/x"]`, Kind: gatehouse.Changed, Old: `"on"`, New: `"off"`},
		{Path: "env[0].value", Kind: gatehouse.Changed, Old: `"1"`, New: `"9"`},
		{Path: "env[1]", Kind: gatehouse.Removed, Old: `{name: B, value: "2"}`},
		{Path: "gone", Kind: gatehouse.Removed, Old: "1"},
		{Path: "image.pullPolicy", Kind: gatehouse.Added, New: "Always"},
		{Path: "replicas", Kind: gatehouse.Changed, Old: "2", New: "3"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("diff =\n%v\nwant\n%v", got, want)
	}
	if d := gatehouse.DiffValues(a, a); len(d) != 0 {
		t.Fatalf("diff of equal values: %v", d)
	}
}

// FuzzDiffValues checks the diff of any two parseable value documents: it is empty exactly when
// they are equal, its paths are unique and sorted, and it is symmetric (added ↔ removed).
func FuzzDiffValues(f *testing.F) {
	f.Add("a: 1\nb: {c: [1, 2]}\n", "a: 2\nb: {c: [1]}\nd: x\n")
	f.Add("", "x: null\n")
	f.Add("k: [a, {b: c}]\n", "k: {b: c}\n")
	f.Fuzz(func(t *testing.T, x, y string) {
		a, err1 := gatehouse.ParseValues("a", x)
		b, err2 := gatehouse.ParseValues("b", y)
		if err1 != nil || err2 != nil {
			return
		}
		d := gatehouse.DiffValues(a, b)
		if (len(d) == 0) != reflect.DeepEqual(a, b) {
			t.Fatalf("diff %v but equal=%v", d, reflect.DeepEqual(a, b))
		}
		for i := 1; i < len(d); i++ {
			if d[i-1].Path >= d[i].Path {
				t.Fatalf("paths not sorted and unique: %q, %q", d[i-1].Path, d[i].Path)
			}
		}
		back := gatehouse.DiffValues(b, a)
		if len(back) != len(d) {
			t.Fatalf("asymmetric: %d vs %d changes", len(d), len(back))
		}
		for i := range d {
			if back[i].Path != d[i].Path || back[i].Old != d[i].New || back[i].New != d[i].Old {
				t.Fatalf("asymmetric change %v vs %v", d[i], back[i])
			}
		}
		for _, c := range d {
			if strings.ContainsAny(c.Path, "\n") && !strings.Contains(c.Path, `"`) {
				t.Fatalf("unquoted path with a newline: %q", c.Path)
			}
		}
	})
}

func TestSecretsAreMasked(t *testing.T) {
	text := "replicas: 2\nsecrets:\n  DB_PASSWORD: hunter2-planted\n  nested: {token: t0k3n-planted}\n"
	masked := gatehouse.MaskValues(text)
	if strings.Contains(masked, "planted") || !strings.Contains(masked, "DB_PASSWORD: •••") || !strings.Contains(masked, "replicas: 2") {
		t.Fatalf("masked values:\n%s", masked)
	}
	if got := gatehouse.MaskValues("a: [unclosed"); strings.Contains(got, "unclosed") {
		t.Fatalf("unparseable values shown: %q", got)
	}
	a := mustValues(t, text)
	b := mustValues(t, "replicas: 2\nsecrets:\n  DB_PASSWORD: changed-planted\n  API_KEY: new-planted\n  nested: {token: t0k3n-planted}\n")
	for _, c := range gatehouse.MaskChanges(gatehouse.DiffValues(a, b)) {
		if strings.Contains(c.Old+c.New, "planted") {
			t.Fatalf("change shows a secret: %+v", c)
		}
		if c.Path == "secrets.DB_PASSWORD" && c.New != "••• changed" {
			t.Fatalf("changed secret shown as %+v", c)
		}
	}
}

// TestDiffDeploymentsComparesSecretsByKeyAcrossEnvironments: within one environment a secret's
// mark tells whether it changed; between two, only whether each key is set on each side.
func TestDiffDeploymentsComparesSecretsByKeyAcrossEnvironments(t *testing.T) {
	from := &gatehouse.Deployment{Environment: "dev", Values: "replicas: 1\nsecrets: {A: mark-1, B: mark-2, C: mark-3}\n"}
	to := &gatehouse.Deployment{Environment: "dev", Values: "replicas: 1\nsecrets: {A: mark-1, B: mark-9, D: mark-4}\n"}
	show := func(d *gatehouse.DeploymentDiff) string {
		var s []string
		for _, c := range d.Changes {
			s = append(s, c.String())
		}
		return strings.Join(s, "; ")
	}
	same, err := gatehouse.DiffDeployments(from, to)
	if err != nil {
		t.Fatal(err)
	}
	if got := show(same); same.SecretsByKey || got != "~ secrets.B: ••• → ••• changed; - secrets.C: •••; + secrets.D: •••" {
		t.Fatalf("within one environment: %s (by key %v)", got, same.SecretsByKey)
	}
	to.Environment = "prod"
	across, err := gatehouse.DiffDeployments(from, to)
	if err != nil {
		t.Fatal(err)
	}
	if got := show(across); !across.SecretsByKey || got != "- secrets.C: •••; + secrets.D: •••" {
		t.Fatalf("across environments: %s (by key %v)", got, across.SecretsByKey)
	}
	if got := gatehouse.SecretKeys(map[string]string{"K": "v"}); fmt.Sprint(got) != "map[secrets:map[K:•••]]" {
		t.Fatalf("SecretKeys = %v", got)
	}
	if got := gatehouse.SecretKeys(nil); len(got) != 0 {
		t.Fatalf("SecretKeys(nil) = %v", got)
	}
}
