package ui

import (
	"encoding/xml"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// wellFormed fails the test unless svg parses as XML.
func wellFormed(t *testing.T, svg string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		if _, err := d.Token(); err == io.EOF {
			return
		} else if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, svg)
		}
	}
}

var rectRe = regexp.MustCompile(`<rect x="([^"]+)" y="([^"]+)" width="([^"]+)" height="([^"]+)" fill="([^"]+)"[^>]*><title>([^<]*)</title>`)

type bar struct {
	x, y, w, h float64
	fill, tip  string
}

func bars(t *testing.T, svg string) []bar {
	t.Helper()
	var out []bar
	for _, m := range rectRe.FindAllStringSubmatch(svg, -1) {
		f := func(s string) float64 {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatalf("coordinate %q: %v", s, err)
			}
			return v
		}
		out = append(out, bar{f(m[1]), f(m[2]), f(m[3]), f(m[4]), m[5], m[6]})
	}
	return out
}

func TestBarChartScales(t *testing.T) {
	svg := string(barChart{Title: "Deployments per week", Labels: []string{"Nov 2", "Nov 9", "Nov 16"},
		Series: []chartSeries{{Values: []float64{10, 5, 0}}}}.SVG())
	wellFormed(t, svg)
	for _, want := range []string{`role="img"`, `aria-label="Deployments per week"`, `<title>Deployments per week</title>`, ">Nov 9</text>", ">10</text>", ">0</text>"} {
		if !strings.Contains(svg, want) {
			t.Errorf("lacks %s:\n%s", want, svg)
		}
	}
	bs := bars(t, svg)
	if len(bs) != 3 {
		t.Fatalf("%d bars, want 3:\n%s", len(bs), svg)
	}
	base := float64(chartTop + chartPlotH)
	for i, want := range []float64{chartPlotH, chartPlotH / 2, 0} {
		if math.Abs(bs[i].h-want) > 0.1 || math.Abs(bs[i].y+bs[i].h-base) > 0.1 {
			t.Errorf("bar %d: y %v height %v, want height %v standing on %v", i, bs[i].y, bs[i].h, want, base)
		}
	}
	if bs[0].x >= bs[1].x || bs[1].x >= bs[2].x || bs[2].x+bs[2].w > chartW-chartRight {
		t.Errorf("bars out of order or off the plot: %+v", bs)
	}
	if bs[1].tip != "Nov 9: 5" {
		t.Errorf("tooltip %q", bs[1].tip)
	}
}

func TestBarChartStacksAndSkipsMissing(t *testing.T) {
	svg := string(barChart{Title: "stages", Labels: []string{"a", "b"}, Format: func(v float64) string { return strconv.Itoa(int(v)) + "s" },
		Series: []chartSeries{{Name: "first", Values: []float64{30, math.NaN()}}, {Name: "second", Values: []float64{10, math.NaN()}}}}.SVG())
	wellFormed(t, svg)
	bs := bars(t, svg)
	if len(bs) != 4 {
		t.Fatalf("%d bars, want 4", len(bs))
	}
	first, second := bs[0], bs[1]
	if math.Abs(first.h-chartPlotH*0.75) > 0.1 || math.Abs(second.h-chartPlotH*0.25) > 0.1 || math.Abs(second.y+second.h-first.y) > 0.1 {
		t.Errorf("second layer does not stack on the first: %+v %+v", first, second)
	}
	if first.fill == second.fill {
		t.Errorf("both layers are %s", first.fill)
	}
	if first.tip != "a: first 30s" || bs[2].tip != "b: first no value" || bs[2].h != 0 || bs[3].h != 0 {
		t.Errorf("tooltips or missing values: %+v", bs)
	}
	if !strings.Contains(svg, ">40s</text>") {
		t.Errorf("the axis does not reach the stack's top, 40s:\n%s", svg)
	}
}

func TestBarChartOnePointAndEmpty(t *testing.T) {
	one := string(barChart{Title: "one", Labels: []string{"Nov 2"}, Series: []chartSeries{{Values: []float64{3}}}}.SVG())
	wellFormed(t, one)
	bs := bars(t, one)
	if len(bs) != 1 || bs[0].w != chartMaxBar || math.Abs(bs[0].x+bs[0].w/2-(chartLeft+chartPlotW/2.0)) > 0.1 || math.Abs(bs[0].h-chartPlotH) > 0.1 {
		t.Errorf("one point: %+v, want one full-height bar %d wide in the middle", bs, chartMaxBar)
	}
	zero := string(barChart{Title: "zeros", Labels: []string{"a", "b"}, Series: []chartSeries{{Values: []float64{0, 0}}}}.SVG())
	wellFormed(t, zero)
	if strings.Contains(zero, "NaN") || strings.Contains(zero, "Inf") || strings.Contains(zero, "stroke-dasharray") {
		t.Errorf("all zeros: a top line or a division by zero:\n%s", zero)
	}
	empty := string(barChart{Title: "nothing"}.SVG())
	wellFormed(t, empty)
	if !strings.Contains(empty, ">No data</text>") || !strings.Contains(empty, `aria-label="nothing"`) || strings.Contains(empty, "<rect") {
		t.Errorf("empty chart:\n%s", empty)
	}
}

func TestBarChartEscapes(t *testing.T) {
	svg := string(barChart{Title: `a <b>"&'`, Labels: []string{"<script>x</script>"},
		Series: []chartSeries{{Name: "</title><g>", Values: []float64{1}}}, Format: func(float64) string { return "<1>" }}.SVG())
	wellFormed(t, svg)
	for _, bad := range []string{"<b>", "<script>", "</title><g>", "<1>"} {
		if strings.Contains(svg, bad) {
			t.Errorf("%s not escaped:\n%s", bad, svg)
		}
	}
	if !strings.Contains(svg, `aria-label="a &lt;b&gt;&#34;&amp;&#39;"`) || !strings.Contains(svg, "&lt;script&gt;x&lt;/script&gt;: &lt;/title&gt;&lt;g&gt; &lt;1&gt;") {
		t.Errorf("escaped text missing:\n%s", svg)
	}
}

func TestBarChartThinsLabels(t *testing.T) {
	var labels []string
	var values []float64
	for i := range 14 {
		labels = append(labels, "w"+strconv.Itoa(i))
		values = append(values, float64(i))
	}
	svg := string(barChart{Title: "90 days", Labels: labels, Series: []chartSeries{{Values: values}}}.SVG())
	if n := strings.Count(svg, `text-anchor="middle"`); n != 7 {
		t.Errorf("%d week labels under 14 bars, want every other one (7)", n)
	}
	if len(bars(t, svg)) != 14 {
		t.Errorf("want 14 bars")
	}
}

func TestPercentText(t *testing.T) {
	for share, want := range map[float64]string{0: "0%", 0.25: "25%", 2.0 / 7: "28.6%", 1: "100%"} {
		if got := percentText(share); got != want {
			t.Errorf("percentText(%v) = %q, want %q", share, got, want)
		}
	}
}
