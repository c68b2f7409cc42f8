package ui

import (
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gatehousehq/gatehouse"
)

func (a *App) metricsRoutes() []Route {
	return []Route{
		{"GET /ui/projects/{project}/metrics", a.user(a.metrics)},
		{"GET /ui/projects/{project}/apps/{app}/metrics", a.user(a.metrics)},
	}
}

// metricsPeriods are the periods the form offers; a second form takes dates.
var metricsPeriods = []string{"7d", "30d", "90d"}

// metricsForm is the form's fields as they came, to show them again.
type metricsForm struct{ Since, From, To, Environment string }

// figureRow is one line of a figure's trend table.
type figureRow struct{ Week, Value, Detail string }

// figure is one of the four DORA metrics as the page shows it.
type figure struct {
	Name, Value string
	Band        gatehouse.Band
	Details     []string
	Chart       template.HTML
	Rows        []figureRow
	Unit        string // the trend table's value column
}

// stageWeek is one row of the lead-time breakdown's table: a week's stage means.
type stageWeek struct {
	Week    string
	Changes int
	Means   []string
	Total   string
}

type metricsPage struct {
	Project, App string
	Form         metricsForm
	Periods      []string
	Environments []*gatehouse.Environment
	Apps         []*gatehouse.App // on a project's page: its apps
	DORA         *gatehouse.DORAReport
	Lead         *gatehouse.LeadTimeReport
	Empty        bool // nothing ended in the period
	Figures      []figure
	StageChart   template.HTML
	StageNames   []string
	StageWeeks   []stageWeek
}

// envPicker is what the template metrics-env gets: the select's id and the page.
type envPicker struct {
	ID   string
	Page metricsPage
}

// Swatch is the legend colour of stage i.
func (metricsPage) Swatch(i int) template.HTML { return swatch(i) }

// Base is the page's own path.
func (p metricsPage) Base() string {
	if p.App != "" {
		return "/ui/projects/" + p.Project + "/apps/" + p.App + "/metrics"
	}
	return "/ui/projects/" + p.Project + "/metrics"
}

// metrics is the delivery metrics page of a project, or of one app when the path names it.
// The query parameters are those of the API (gatehouse.ParseMetricsQuery).
func (a *App) metrics(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	v := r.URL.Query()
	mq, err := gatehouse.ParseMetricsQuery(func(k string) string {
		if k == "project" || k == "app" {
			return r.PathValue(k)
		}
		return v.Get(k)
	})
	if err != nil {
		return err
	}
	p := metricsPage{Project: mq.Project, App: mq.App, Periods: metricsPeriods,
		Form: metricsForm{Since: v.Get("since"), From: v.Get("from"), To: v.Get("to"), Environment: v.Get("environment")}}
	if p.Form.Since == "" {
		p.Form.Since = "30d" // the default period, and what the period form offers beside dates
	}
	// The two reports read different rows: side by side, the page takes as long as the slower.
	var leadErr error
	var wg sync.WaitGroup
	wg.Go(func() { p.Lead, leadErr = a.svc.Metrics.LeadTime(ctx, mq) })
	p.DORA, err = a.svc.Metrics.DORA(ctx, mq)
	wg.Wait()
	if err == nil {
		err = leadErr
	}
	if err != nil {
		return err
	}
	if p.Environments, err = a.svc.Environments.Environments(ctx, p.Project); err != nil {
		return err
	}
	if p.App == "" {
		if p.Apps, err = a.svc.Apps.Apps(ctx, p.Project); err != nil {
			return err
		}
	}
	d := p.DORA
	p.Empty = d.Frequency.Deployments == 0 && d.Failures.Ended == 0 && p.Lead.Changes == 0
	if !p.Empty {
		p.Figures = doraFigures(d)
		p.StageChart, p.StageNames, p.StageWeeks = stageBreakdown(p.Lead)
	}
	title := "Delivery metrics of " + p.Project
	if p.App != "" {
		title += "/" + p.App
	}
	a.render(w, r, http.StatusOK, "metrics.html", title, p)
	return nil
}

// weekLabel names a week by the day it starts.
func weekLabel(t time.Time) string { return t.UTC().Format("Jan 2") }

// doraFigures lays out the four metrics with their details and weekly trends.
func doraFigures(d *gatehouse.DORAReport) []figure {
	labels := make([]string, len(d.Weeks))
	series := make([][]float64, 4)
	rows := make([][]figureRow, 4)
	for i, wk := range d.Weeks {
		labels[i] = weekLabel(wk.Start)
		series[0] = append(series[0], float64(wk.Deployments))
		series[1] = append(series[1], statValue(wk.LeadTime))
		series[2] = append(series[2], rateValue(wk.Failed, wk.Ended))
		series[3] = append(series[3], statValue(wk.Restore))
		rows[0] = append(rows[0], figureRow{labels[i], strconv.Itoa(wk.Deployments), ""})
		rows[1] = append(rows[1], figureRow{labels[i], statMedian(wk.LeadTime), changes(wk.LeadTime.Count)})
		rows[2] = append(rows[2], figureRow{labels[i], rateText(wk.Failed, wk.Ended), fmt.Sprintf("%d of %d failed", wk.Failed, wk.Ended)})
		rows[3] = append(rows[3], figureRow{labels[i], statMedian(wk.Restore), fmt.Sprintf("%d restored", wk.Restore.Count)})
	}
	count := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	seconds := func(v float64) string { return gatehouse.FormatDuration(time.Duration(v * float64(time.Second))) }
	percent := func(v float64) string { return percentText(v / 100) }
	chart := func(i int, title string, format func(float64) string) template.HTML {
		return barChart{Title: title, Labels: labels, Series: []chartSeries{{Values: series[i]}}, Format: format}.SVG()
	}
	f, lt, cf, rs := d.Frequency, d.LeadTime, d.Failures, d.Restore
	return []figure{
		{Name: "Deployment frequency", Value: fmt.Sprintf("%.2f per day", f.PerDay), Band: f.Band, Unit: "Deployments",
			Details: []string{fmt.Sprintf("%s in %s days", plural(f.Deployments, "deployment"), strconv.FormatFloat(math.Round(f.Days*10)/10, 'f', -1, 64)),
				plural(f.ActiveDays, "active day") + " (with at least one deployment)"},
			Chart: chart(0, "Deployments per week", count), Rows: rows[0]},
		{Name: "Lead time for changes", Value: "median " + statMedian(lt.Stat), Band: lt.Band, Unit: "Median",
			Details: []string{"90th percentile " + statP90(lt.Stat), changes(lt.Stat.Count),
				fmt.Sprintf("%d without a commit time (their lead time starts at the push)", lt.WithoutCommitTime)},
			Chart: chart(1, "Median lead time per week", seconds), Rows: rows[1]},
		{Name: "Change failure rate", Value: rateText(cf.Failed, cf.Ended), Band: cf.Band, Unit: "Rate",
			Details: []string{fmt.Sprintf("%d failed of %s that ended", cf.Failed, plural(cf.Ended, "deployment"))},
			Chart:   chart(2, "Change failure rate per week, in percent", percent), Rows: rows[2]},
		{Name: "Time to restore", Value: "median " + statMedian(rs.Stat), Band: rs.Band, Unit: "Median",
			Details: []string{"90th percentile " + statP90(rs.Stat), plural(rs.Stat.Count, "failure") + " restored",
				fmt.Sprintf("%d not restored yet", rs.Unrestored)},
			Chart: chart(3, "Median time to restore per week", seconds), Rows: rows[3]},
	}
}

// stageBreakdown is the lead-time breakdown's stacked chart (one bar per week, one layer per
// stage), the stages' names for its legend and its numbers as table rows.
func stageBreakdown(l *gatehouse.LeadTimeReport) (template.HTML, []string, []stageWeek) {
	var names []string
	series := make([]chartSeries, len(gatehouse.LeadStages))
	for i, s := range gatehouse.LeadStages {
		names = append(names, gatehouse.LeadStageLabels[s])
		series[i].Name = gatehouse.LeadStageLabels[s]
	}
	var labels []string
	var rows []stageWeek
	for _, wk := range l.Weeks {
		labels = append(labels, weekLabel(wk.Start))
		row := stageWeek{Week: weekLabel(wk.Start), Changes: wk.Changes}
		var total float64
		for i := range series {
			v := math.NaN()
			if i < len(wk.Seconds) && wk.Changes > 0 {
				v = wk.Seconds[i]
				total += v
			}
			series[i].Values = append(series[i].Values, v)
			row.Means = append(row.Means, secondsText(v))
		}
		row.Total = secondsText(total)
		if wk.Changes == 0 {
			row.Total = "—"
		}
		rows = append(rows, row)
	}
	chart := barChart{Title: "Mean lead time per week, split into its stages", Labels: labels, Series: series,
		Format: func(v float64) string { return secondsText(v) }}
	return chart.SVG(), names, rows
}

// statValue is a Stat's median in seconds for a chart, NaN when it counts nothing.
func statValue(s gatehouse.Stat) float64 {
	if s.Count == 0 {
		return math.NaN()
	}
	return s.Median.Seconds()
}

// rateValue is a failure rate in percent for a chart, NaN when nothing ended.
func rateValue(failed, ended int) float64 {
	if ended == 0 {
		return math.NaN()
	}
	return float64(failed) / float64(ended) * 100
}

func rateText(failed, ended int) string {
	if ended == 0 {
		return "—"
	}
	return fmt.Sprintf("%d/%d (%s)", failed, ended, percentText(float64(failed)/float64(ended)))
}

// percentText writes a share (0.25) as a percentage ("25%", "33.3%").
func percentText(share float64) string {
	return strconv.FormatFloat(math.Round(share*1000)/10, 'f', -1, 64) + "%"
}

func secondsText(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return gatehouse.FormatDuration(time.Duration(math.Round(v * float64(time.Second))))
}

// plural counts things: "1 change", "2 changes".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

func changes(n int) string { return plural(n, "change") }

func statMedian(s gatehouse.Stat) string { return statText(s, s.Median) }
func statP90(s gatehouse.Stat) string    { return statText(s, s.P90) }

// statText is a duration of a Stat, or a dash when the Stat counts nothing.
func statText(s gatehouse.Stat, d time.Duration) string {
	if s.Count == 0 {
		return "—"
	}
	return gatehouse.FormatDuration(d)
}
