package kube

import (
	"context"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/gatehousehq/gatehouse"
)

// ValidateValues checks values, layered over the chart's defaults as Helm layers them, against
// the chart's values.schema.json, and names the failing paths. It checks the builtin chart and
// chart directories; charts from repositories and registries are checked by Helm when they are
// deployed (fetching them on every edit would make editing depend on the network), and so is a
// directory that cannot be read now.
func ValidateValues(_ context.Context, ref gatehouse.Chart, v gatehouse.Values) error {
	var ch *chart.Chart
	var err error
	switch ref.Source {
	case gatehouse.ChartBuiltin, "":
		ch, err = BuiltinChart()
	case gatehouse.ChartDirectory:
		ch, err = loader.Load(ref.Path)
	default:
		return nil
	}
	if err != nil || len(ch.Schema) == 0 {
		return nil
	}
	vals, err := chartutil.CoalesceValues(ch, v)
	if err != nil {
		return gatehouse.Invalidf("content", "cannot be layered over the chart's defaults: %v", err)
	}
	if err := chartutil.ValidateAgainstSingleSchema(vals, ch.Schema); err != nil {
		return gatehouse.Invalidf("content", "does not match the chart's values.schema.json: %s", schemaProblems(err.Error()))
	}
	return nil
}

// schemaProblems turns Helm's multi-line schema report into one line of "path: problem" items.
func schemaProblems(report string) string {
	var out []string
	for _, line := range strings.Split(report, "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "- "))
		if line == "" || strings.HasSuffix(line, ":") && !strings.Contains(line, " ") {
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "; ")
}
