package kube

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
)

func TestValidateValuesNamesThePath(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "Chart.yaml"), []byte("apiVersion: v2\nname: own\nversion: 0.1.0\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "values.yaml"), []byte("size: small\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "values.schema.json"), []byte(`{"type":"object","properties":{"size":{"enum":["small","large"]}},"required":["size"]}`), 0o644))
	for _, c := range []struct {
		chart  gatehouse.Chart
		values string
		want   []string // fragments of the error; none means valid
	}{
		{gatehouse.Chart{Source: gatehouse.ChartBuiltin}, "replicas: 3\nconfig: {A: x, B: 2}\n", nil},
		{gatehouse.Chart{Source: gatehouse.ChartBuiltin}, "replicas: two\n", []string{"content:", "/replicas", "integer"}},
		{gatehouse.Chart{Source: gatehouse.ChartBuiltin}, "port: 70000\nimage: {pullPolicy: Sometimes}\n", []string{"/port", "/image/pullPolicy"}},
		{gatehouse.Chart{Source: gatehouse.ChartBuiltin}, "config: {A: {nested: 1}}\n", []string{"/config/A"}},
		{gatehouse.Chart{Source: gatehouse.ChartDirectory, Path: dir}, "size: large\n", nil},
		{gatehouse.Chart{Source: gatehouse.ChartDirectory, Path: dir}, "size: huge\n", []string{"/size"}},
		// Remote charts are left to Helm at deploy time.
		{gatehouse.Chart{Source: gatehouse.ChartOCI, URL: "oci://r.example.com/c"}, "anything: [1]\n", nil},
	} {
		v, err := gatehouse.ParseValues("v", c.values)
		must(err)
		err = ValidateValues(context.Background(), c.chart, v)
		if len(c.want) == 0 {
			if err != nil {
				t.Errorf("%s %q: %v", c.chart.Source, c.values, err)
			}
			continue
		}
		if gatehouse.KindOf(err) != gatehouse.KindInvalid {
			t.Errorf("%s %q: error %v, want invalid", c.chart.Source, c.values, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s %q: %q does not name %q", c.chart.Source, c.values, err, w)
			}
		}
	}
}
