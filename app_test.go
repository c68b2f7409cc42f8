package gatehouse_test

import (
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse"
)

// TestChartDigest: a chart's digest is empty (not pinned) or sha256:<64 lowercase hex>.
func TestChartDigest(t *testing.T) {
	for _, c := range []gatehouse.Chart{
		{Source: gatehouse.ChartBuiltin},
		{Source: gatehouse.ChartBuiltin, Digest: digestA},
		{Source: gatehouse.ChartRepository, URL: "https://charts.example.com", Name: "web", Version: "1.2.3", Digest: digestA},
		{Source: gatehouse.ChartOCI, URL: "oci://registry.example.com/charts/web", Version: "1.2.3", Digest: digestA},
		{Source: gatehouse.ChartDirectory, Path: "/srv/charts/web", Digest: digestA},
	} {
		if err := c.Validate("chart"); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	for _, d := range []string{"sha256:abc", strings.ToUpper(digestA), digestA[7:], "md5:" + digestA[7:], digestA + "\n"} {
		err := gatehouse.Chart{Source: gatehouse.ChartBuiltin, Digest: d}.Validate("chart")
		if e, ok := err.(*gatehouse.Error); !ok || e.Field != "chart.digest" || !strings.Contains(e.Message, "expected sha256:<64 lowercase hex digits>") {
			t.Errorf("digest %q: %v", d, err)
		}
	}
}
