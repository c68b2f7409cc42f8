package ui

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// chartPalette colours a chart's series, in order. Each has at least 3:1 contrast on white,
// and no chart relies on colour alone: a legend names each series and the numbers are on the
// page as text.
var chartPalette = []string{"#0b57d0", "#b35900", "#117a43", "#8e44ad", "#c2185b", "#4a5560"}

// chartSeries is one layer of a bar chart: a name and a value per column. NaN is "no value"
// (a week with nothing to measure): no bar, and the bar's tooltip says so.
type chartSeries struct {
	Name   string
	Values []float64
}

// barChart is a small server-rendered bar chart: one column per label, the series stacked
// bottom up, a y axis from 0 to the highest column. It renders as inline SVG (no script, no
// style attribute, so the pages' Content-Security-Policy holds) named for assistive
// technology by its title.
type barChart struct {
	Title  string // the accessible name
	Labels []string
	Series []chartSeries
	Format func(float64) string // values on the axis and in tooltips
}

// The chart's geometry, in SVG user units.
const (
	chartW, chartH              = 360, 150
	chartLeft, chartRight       = 56, 8
	chartTop, chartBottom       = 12, 24
	chartPlotW, chartPlotH      = chartW - chartLeft - chartRight, chartH - chartTop - chartBottom
	chartMaxBar, chartMaxLabels = 40, 7
)

// num writes a coordinate without needless digits.
func num(f float64) string { return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64) }

// column is the sum of the series at column i, NaNs left out.
func (c barChart) column(i int) float64 {
	var sum float64
	for _, s := range c.Series {
		if i < len(s.Values) && !math.IsNaN(s.Values[i]) {
			sum += s.Values[i]
		}
	}
	return sum
}

// SVG renders the chart. Without columns it is a placeholder that says there is no data.
func (c barChart) SVG() template.HTML {
	format := c.Format
	if format == nil {
		format = func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	}
	esc := template.HTMLEscapeString
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`,
		chartW, chartH, chartW, chartH, esc(c.Title))
	fmt.Fprintf(&b, `<title>%s</title>`, esc(c.Title))
	n := len(c.Labels)
	if n == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" font-size="12" fill="#57606a">No data</text></svg>`, chartW/2, chartH/2)
		return template.HTML(b.String())
	}
	top := 0.0
	for i := range n {
		top = math.Max(top, c.column(i))
	}
	base := float64(chartTop + chartPlotH)
	// The axis: the baseline at 0 and, when anything is above it, a line at the top value.
	fmt.Fprintf(&b, `<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="#8c959f" stroke-width="1"/>`, chartLeft, num(base), chartW-chartRight, num(base))
	fmt.Fprintf(&b, `<text x="%d" y="%s" text-anchor="end" font-size="11" fill="#57606a">%s</text>`, chartLeft-4, num(base+4), esc(format(0)))
	if top > 0 {
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#d0d7de" stroke-width="1" stroke-dasharray="3 3"/>`, chartLeft, chartTop, chartW-chartRight, chartTop)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" font-size="11" fill="#57606a">%s</text>`, chartLeft-4, chartTop+4, esc(format(top)))
	}
	slot := float64(chartPlotW) / float64(n)
	width := math.Min(slot*0.7, chartMaxBar)
	every := (n + chartMaxLabels - 1) / chartMaxLabels
	for i, label := range c.Labels {
		x := float64(chartLeft) + float64(i)*slot + (slot-width)/2
		y := base
		for si, s := range c.Series {
			v := math.NaN()
			if i < len(s.Values) {
				v = s.Values[i]
			}
			tip := label + ": "
			if s.Name != "" {
				tip += s.Name + " "
			}
			if math.IsNaN(v) {
				tip += "no value"
			} else {
				tip += format(v)
			}
			h := 0.0
			if top > 0 && !math.IsNaN(v) {
				h = v / top * chartPlotH
			}
			y -= h
			fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s" stroke="#fff" stroke-width="0.5"><title>%s</title></rect>`,
				num(x), num(y), num(width), num(h), chartPalette[si%len(chartPalette)], esc(tip))
		}
		if i%every == 0 {
			fmt.Fprintf(&b, `<text x="%s" y="%d" text-anchor="middle" font-size="11" fill="#57606a">%s</text>`, num(x+width/2), chartH-8, esc(label))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// swatch is the legend's sample of series i's colour, hidden from assistive technology (the
// legend's text names the series).
func swatch(i int) template.HTML {
	return template.HTML(fmt.Sprintf(`<svg class="swatch" width="12" height="12" aria-hidden="true" focusable="false"><rect width="12" height="12" fill="%s"/></svg>`,
		chartPalette[i%len(chartPalette)]))
}
