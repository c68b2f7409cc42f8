package ui

import "github.com/gatehousehq/gatehouse"

// The metrics page's formatting, for the page tests of package ui_test (tested on its own in
// svgchart_test.go).
var (
	HumanDuration = gatehouse.FormatDuration
	PercentText   = percentText
)
