package ui

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

var funcs = template.FuncMap{
	"short": shortDigest,
	"when":  when,
	"ago":   ago,
	"join":  strings.Join,
	"progress": func(vs []gatehouse.Verdict) string {
		var parts []string
		for _, v := range vs {
			for _, rp := range v.Rules {
				parts = append(parts, fmt.Sprintf("%s %d/%d", rp.Rule, rp.Have, rp.Need))
			}
		}
		return strings.Join(parts, "; ")
	},
	"stateClass": stateClass,
	// The metrics page's figures (routes_metrics.go).
	"secondsText": secondsText,
	"percentText": percentText,
	"statMedian":  statMedian,
	"statP90":     statP90,
	"changes":     changes,
	"envPicker":   func(id string, p metricsPage) envPicker { return envPicker{id, p} },
	"slug":        func(s string) string { return strings.ReplaceAll(strings.ToLower(s), " ", "-") },
	// secretsByKeyNote says how secrets of two environments are compared.
	"secretsByKeyNote": func() string { return gatehouse.SecretsByKeyNote },
}

// shortDigest shortens "sha256:abcdef…" to its first 12 hex digits.
func shortDigest(d string) string {
	_, hex, ok := strings.Cut(d, ":")
	if !ok || len(hex) < 12 {
		return d
	}
	return hex[:12]
}

func when(t any) string {
	switch v := t.(type) {
	case time.Time:
		if v.IsZero() {
			return ""
		}
		return v.UTC().Format("2006-01-02 15:04 UTC")
	case *time.Time:
		if v == nil {
			return ""
		}
		return when(*v)
	}
	return ""
}

// ago says how long ago t was, for people ("3 min ago").
func ago(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

// stateClass maps a state to its colour class: ok, bad, wait or idle.
func stateClass(state any) string {
	switch fmt.Sprint(state) {
	case "succeeded", "approved", "consumed", "published", "met":
		return "ok"
	case "failed", "rejected", "expired", "stale", "cancelled", "discarded", "rolled-back":
		return "bad"
	case "queued", "pre-deploy", "applying", "verifying", "post-deploy", "pending", "proposed", "draft":
		return "wait"
	}
	return "idle"
}
