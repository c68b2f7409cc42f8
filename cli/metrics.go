package cli

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse"
)

// metricsFlags are the scope and period of a metrics command, as query parameters.
type metricsFlags struct {
	pl                                  place
	env, since, from, to, failureWindow string
}

func (m *metricsFlags) bind(cmd *cobra.Command) {
	m.pl.bind(cmd, true)
	f := cmd.Flags()
	f.StringVarP(&m.env, "env", "e", "", "only this environment (default: the production ones)")
	f.StringVar(&m.since, "since", "", "the period ending now (or at --to): 30d, 2w, 12h (default 30d)")
	f.StringVar(&m.from, "from", "", "the period's start: a date (2026-11-01) or RFC 3339 time")
	f.StringVar(&m.to, "to", "", "the period's end (excluded), as --from (default now)")
	f.StringVar(&m.failureWindow, "failure-window", "", "a deployment undone by a rollback this soon after it is a failed change (default 24h)")
}

func (m *metricsFlags) query() (url.Values, error) {
	if m.pl.project == "" {
		return nil, gatehouse.Invalidf("--project", "is required (or set GATEHOUSE_PROJECT)")
	}
	q := url.Values{"project": {m.pl.project}}
	for k, v := range map[string]string{"app": m.pl.app, "environment": m.env, "since": m.since, "from": m.from, "to": m.to, "failure_window": m.failureWindow} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q, nil
}

func (a *App) metricsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "metrics", Short: "Delivery metrics: the four DORA metrics and where lead time goes"}
	cmd.AddCommand(metricsReport(a, "dora", "The four DORA metrics of production (or an environment) over a period, with their bands",
		"  gatehouse metrics dora -p shop --since 90d\n  gatehouse metrics dora -p shop -a web --env prod --from 2026-11-01 --to 2026-12-01 -o json",
		a.printDORA))
	cmd.AddCommand(metricsReport(a, "leadtime", "Where the lead time of changes goes: stages, approval wait per policy and approver, drafts",
		"  gatehouse metrics leadtime -p shop --since 30d", a.printLeadTime))
	return cmd
}

// metricsReport is a command that reads one report and prints it for people, or as JSON.
func metricsReport[R any](a *App, name, short, example string, show func(*R) error) *cobra.Command {
	var m metricsFlags
	cmd := &cobra.Command{Use: name, Short: short, Example: example, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q, err := m.query()
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			var r R
			if err := c.Do(cmd.Context(), "GET", path("metrics", name), q, nil, &r); err != nil {
				return err
			}
			if a.output == "json" {
				return a.render(&r, table{})
			}
			return show(&r)
		}}
	m.bind(cmd)
	return cmd
}

// scopeLine says what a report counts: project, app, environments and period.
func scopeLine(q gatehouse.MetricsQuery, envs []string) string {
	where := q.Project
	if q.App != "" {
		where += "/" + q.App
	}
	in := strings.Join(envs, ", ")
	if in == "" {
		in = "no environment (none is marked production)"
	}
	return fmt.Sprintf("%s in %s, %s to %s (UTC)", where, in, q.From.Format("2006-01-02 15:04"), q.To.Format("2006-01-02 15:04"))
}

func band(b gatehouse.Band) string {
	if b == gatehouse.BandNone {
		return "-"
	}
	return string(b)
}

func statText(s gatehouse.Stat) string {
	if s.Count == 0 {
		return "-"
	}
	return "median " + gatehouse.FormatDuration(s.Median) + ", p90 " + gatehouse.FormatDuration(s.P90)
}

func (a *App) printDORA(r *gatehouse.DORAReport) error {
	fmt.Fprintln(a.Out, scopeLine(r.Query, r.Environments))
	fr, lt, cf, rs := r.Frequency, r.LeadTime, r.Failures, r.Restore
	noCommit := ""
	if lt.WithoutCommitTime > 0 {
		noCommit = fmt.Sprintf(" (%d without a commit time: from the push)", lt.WithoutCommitTime)
	}
	t := table{header: []string{"metric", "value", "detail", "band"}, rows: [][]string{
		{"deployment frequency", fmt.Sprintf("%.2f/day", fr.PerDay), fmt.Sprintf("%d deployments, %d active days of %.0f, %d break-glass", fr.Deployments, fr.ActiveDays, fr.Days, fr.BreakGlass), band(fr.Band)},
		{"lead time for changes", statText(lt.Stat), fmt.Sprintf("%d changes%s", lt.Stat.Count, noCommit), band(lt.Band)},
		{"change failure rate", fmt.Sprintf("%.1f%%", 100*cf.Rate), fmt.Sprintf("%d of %d deployments", cf.Failed, cf.Ended), band(cf.Band)},
		{"time to restore", statText(rs.Stat), fmt.Sprintf("%d restored, %d not yet", rs.Stat.Count, rs.Unrestored), band(rs.Band)},
	}}
	return a.render(r, t)
}

func (a *App) printLeadTime(r *gatehouse.LeadTimeReport) error {
	fmt.Fprintf(a.Out, "%s\n%d changes, lead time %s; approval wait %s, %.0f%% of lead time\n\n", scopeLine(r.Query, r.Environments),
		r.Changes, statText(r.LeadTime), statText(r.ApprovalWait), 100*r.ApprovalShare)
	stat := func(s gatehouse.Stat) []string {
		if s.Count == 0 {
			return []string{"0", "-", "-"}
		}
		return []string{fmt.Sprint(s.Count), gatehouse.FormatDuration(s.Median), gatehouse.FormatDuration(s.P90)}
	}
	sections := []table{
		rowsOf(r.Stages, []string{"stage", "changes", "median", "p90"}, func(s gatehouse.StageFigure) []string { return append([]string{s.Label}, stat(s.Stat)...) }),
		rowsOf(r.Policies, []string{"policy", "requests", "median wait", "p90 wait"}, func(p gatehouse.WaitFigure) []string { return append([]string{p.Policy}, stat(p.Wait)...) }),
		rowsOf(r.Approvers, []string{"approver", "votes", "median wait", "p90 wait"}, func(p gatehouse.ApproverFigure) []string { return append([]string{p.Approver}, stat(p.Wait)...) }),
		rowsOf(r.Drafts, []string{"drafts", "published", "median review", "median publish"}, func(d gatehouse.DraftFigure) []string {
			return []string{string(d.Kind), fmt.Sprint(d.Published), gatehouse.FormatDuration(d.Review.Median), gatehouse.FormatDuration(d.Publish.Median)}
		}),
	}
	for i, t := range sections {
		if len(t.rows) == 0 && i > 0 {
			continue
		}
		if i > 0 {
			fmt.Fprintln(a.Out)
		}
		if err := a.render(r, t); err != nil {
			return err
		}
	}
	return nil
}
