package cli

import (
	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse"
)

// appSettings are the flags of an app's settings, for app create and app update: its
// description, base values, chart and hooks. read fills values and hooks from their files.
type appSettings struct {
	desc, valuesFile, hooksFile string
	chart                       gatehouse.Chart // as the chart flags give it
	values                      *string
	hooks                       *gatehouse.Hooks
}

func (s *appSettings) bind(c *cobra.Command) {
	f := c.Flags()
	f.StringVar(&s.desc, "description", "", "what the app is")
	f.StringVar(&s.valuesFile, "values", "", "base Helm values file, YAML ('-' for stdin)")
	f.StringVar(&s.hooksFile, "hooks", "", "pre- and post-deploy steps, YAML ('-' for stdin): pre_deploy: [{name, image, command, args, env, timeout}], post_deploy: […]")
	f.StringVar((*string)(&s.chart.Source), "chart-source", "builtin", "chart source: builtin, directory, repository or oci")
	f.StringVar(&s.chart.Path, "chart-path", "", "chart directory on the server (source directory)")
	f.StringVar(&s.chart.URL, "chart-url", "", "repository URL or oci:// reference")
	f.StringVar(&s.chart.Name, "chart-name", "", "chart name in the repository")
	f.StringVar(&s.chart.Version, "chart-version", "", "chart version (newest when empty; the server pins it)")
}

// read reads the files --values and --hooks name; errors name the flag.
func (s *appSettings) read(a *App, cmd *cobra.Command) error {
	s.values, s.hooks = nil, nil
	if s.valuesFile != "" {
		text, err := a.readFileFlag("values", s.valuesFile)
		if err != nil {
			return err
		}
		s.values = &text
	}
	if s.hooksFile != "" {
		text, err := a.readFileFlag("hooks", s.hooksFile)
		if err != nil {
			return err
		}
		var h gatehouse.Hooks
		if err := gatehouse.ParseSetting("--hooks", text, &h); err != nil {
			return err
		}
		s.hooks = &h
	}
	return nil
}

// chartSet reports whether any chart flag was given.
func (s *appSettings) chartSet(cmd *cobra.Command) bool {
	for _, f := range []string{"chart-source", "chart-path", "chart-url", "chart-name", "chart-version"} {
		if flagSet(cmd, f) {
			return true
		}
	}
	return false
}

// applyChart returns c with the chart flags given applied: a --chart-source other than c's
// starts afresh, every other flag replaces its field. The digest is left out: it pinned c,
// and the server pins the chart it records again.
func (s *appSettings) applyChart(cmd *cobra.Command, c gatehouse.Chart) gatehouse.Chart {
	if flagSet(cmd, "chart-source") && s.chart.Source != c.Source {
		c = gatehouse.Chart{Source: s.chart.Source}
	}
	for flag, f := range map[string]struct{ to, from *string }{"chart-path": {&c.Path, &s.chart.Path}, "chart-url": {&c.URL, &s.chart.URL},
		"chart-name": {&c.Name, &s.chart.Name}, "chart-version": {&c.Version, &s.chart.Version}} {
		if flagSet(cmd, flag) {
			*f.to = *f.from
		}
	}
	c.Digest = ""
	return c
}

// proposeApp opens and proposes a draft of the one app setting the flags change: its chart,
// its hooks or its base values.
func (a *App) proposeApp(cmd *cobra.Command, pl *place, app string, s *appSettings, p *proposal) error {
	ref := gatehouse.DraftRef{Project: pl.project, App: app}
	var edit func(live string) (string, error)
	settings := 0
	if s.chartSet(cmd) {
		settings++
		ref.Kind, edit = gatehouse.DraftChart, func(live string) (string, error) {
			var c gatehouse.Chart
			if err := gatehouse.ParseSetting("live chart", live, &c); err != nil {
				return "", err
			}
			return gatehouse.RenderSetting(s.applyChart(cmd, c))
		}
	}
	if s.hooks != nil {
		settings++
		ref.Kind, edit = gatehouse.DraftHooks, func(string) (string, error) { return gatehouse.RenderSetting(*s.hooks) }
	}
	if s.values != nil {
		settings++
		ref.Kind, edit = gatehouse.DraftValues, func(string) (string, error) { return *s.values, nil }
	}
	if settings != 1 {
		return gatehouse.Invalidf("--propose", "drafts one setting at a time: expected chart flags, --hooks or --values, got %d of them", settings)
	}
	if err := p.only(cmd, ref.Kind, "description"); err != nil {
		return err
	}
	if _, err := pl.projectPath(); err != nil {
		return err
	}
	return a.propose(cmd, ref, edit, p)
}
