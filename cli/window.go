package cli

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse"
)

func (a *App) windowCmd() *cobra.Command {
	n := noun[gatehouse.Window]{a: a, name: "window", header: []string{"name", "kind", "scope", "schedule", "timezone", "version", "description"},
		row: func(w *gatehouse.Window) []string {
			return []string{w.Name, string(w.Kind), w.Scope, scheduleText(w.WindowSpec), w.TimeZone, strconv.FormatInt(w.Version, 10), w.Description}
		},
		base: fixed("windows")}
	g := gatedSetting[gatehouse.Window, gatehouse.WindowSpec]{n: n,
		ref: func(name string) gatehouse.DraftRef {
			return gatehouse.DraftRef{Kind: gatehouse.DraftWindow, Window: name}
		}}
	create := g.create("Create a deployment window from YAML", `Create a deployment window from YAML or JSON. A deny window (a freeze) refuses deployments
while it is open; allow windows (maintenance windows) refuse them outside. Deny beats allow.
  name: year-end-freeze
  kind: deny                      # or allow
  scope: project:shop/env:prod
  timezone: Europe/Berlin
  start: 2026-12-28T00:00:00Z     # a one-off window: start and end
  end: 2027-01-02T00:00:00Z
  # a recurring one instead: rrule: "FREQ=WEEKLY;BYDAY=FR;BYHOUR=16" and duration: 64h
  description: year-end close
Recurring rules are RFC 5545 RRULEs read in the window's time zone: 02:00 stays 02:00 on
the nights the clocks change. A person's deployment into a closed window is refused (exit 7)
with when it opens; automatic ones (pushes, promotions, approvals) wait and start then.`)
	update := g.update("Replace a window: at once if it only closes more, else through a draft (--propose)",
		`Replace a window. A replacement that only closes more (a longer freeze, a shorter maintenance
window) applies at once. One that opens a protected environment where it was closed (a shorter
or later freeze, a wider maintenance window, a narrower scope) is refused (exit 7): with
--propose it becomes a draft that the policies protecting that environment judge.`,
		`  gatehouse window update year-end-freeze -f freeze.yaml
  gatehouse window update year-end-freeze -f freeze.yaml --propose -m "close ends a day early" --notify bob`)
	del := g.del("Delete a window (where that opens a protected environment: through a draft, --propose)",
		`  gatehouse window delete year-end-freeze --propose -m "the close is done" --notify bob`)
	var project string
	list := n.list(func() url.Values {
		if project == "" {
			return nil
		}
		return url.Values{"project": {project}}
	})
	list.Flags().StringVarP(&project, "project", "p", "", "only windows reaching this project")
	return group("window", "Manage deployment windows: freezes and maintenance windows", list, n.get(), create, update, del, a.windowNextCmd())
}

// windowNextCmd says whether the windows let deployments into an environment now, and when
// that changes.
func (a *App) windowNextCmd() *cobra.Command {
	var pl place
	var env string
	cmd := &cobra.Command{
		Use:     "next --project P --env ENV [--app APP]",
		Short:   "Whether an environment's windows are open now, and when they next open or close",
		Example: `  gatehouse window next -p shop --env prod`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if env == "" {
				return gatehouse.Invalidf("--env", "is required: expected an environment name")
			}
			segs, err := pl.projectPath("environments", env, "window")
			if err != nil {
				return err
			}
			var q url.Values
			if pl.app != "" {
				q = url.Values{"app": {pl.app}}
			}
			var out gatehouse.WindowState
			if err := a.call(cmd, "GET", segs, q, nil, &out); err != nil {
				return err
			}
			next := ""
			if !out.Verdict.Until.IsZero() {
				next = out.Verdict.Until.UTC().Format(time.RFC3339)
			}
			open := "closed"
			if out.Verdict.Open {
				open = "open"
			}
			return a.render(&out, table{header: []string{"state", "changes at", "message", "windows"},
				rows: [][]string{{open, next, out.Message, strings.Join(out.Windows, ", ")}}})
		},
	}
	pl.bind(cmd, true)
	cmd.Flags().StringVarP(&env, "env", "e", "", "environment name")
	return cmd
}

// scheduleText is a window's schedule in one cell: "2026-12-28T00:00:00Z – 2027-01-02T00:00:00Z"
// or "FREQ=WEEKLY;BYDAY=FR;BYHOUR=16 for 64h".
func scheduleText(w gatehouse.WindowSpec) string {
	if w.RRule == "" && w.Start != nil && w.End != nil {
		return w.Start.UTC().Format(time.RFC3339) + " – " + w.End.UTC().Format(time.RFC3339)
	}
	return w.RRule + " for " + w.Duration
}
