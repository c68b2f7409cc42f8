package cli

import (
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/httpapi"
)

func (a *App) appCmd() *cobra.Command {
	var pl place
	n := noun[gatehouse.App]{a: a, name: "app", header: []string{"name", "chart", "description"},
		row:  func(x *gatehouse.App) []string { return []string{x.Name, chartText(x.Chart), x.Description} },
		base: func() ([]string, error) { return pl.projectPath("apps") }}
	var s appSettings
	create := &cobra.Command{
		Use:     "create NAME",
		Short:   "Create an app (the builtin chart unless --chart-source says otherwise)",
		Example: "  gatehouse app create web -p shop --values values.yaml",
		Args:    exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			segs, err := n.base()
			if err != nil {
				return err
			}
			if err := s.read(a, cmd); err != nil {
				return err
			}
			in := gatehouse.AppCreate{Name: args[0], Description: s.desc, Chart: s.applyChart(cmd, gatehouse.Chart{Source: s.chart.Source})}
			if s.values != nil {
				in.Values = *s.values
			}
			if s.hooks != nil {
				in.Hooks = *s.hooks
			}
			return n.send(cmd, "POST", segs, in)
		},
	}
	var prop proposal
	update := &cobra.Command{
		Use:   "update NAME",
		Short: "Change an app's description, chart, hooks or base values (protected ones through a draft: --propose)",
		Long: `Change an app. The chart flags change the fields they name (a new --chart-source starts
afresh); the server pins the chart's version and digest. Where policies reach an environment
the app deploys to, its chart and hooks are protected (and its base values where config policies
reach): a direct change is refused (exit 7). With --propose the change becomes a draft, proposed
to the people who must approve it: one setting a draft, so chart flags, --hooks or --values.`,
		Example: `  gatehouse app update web -p shop --description "the storefront"
  gatehouse app update web -p shop --chart-version 1.3.0 --propose -m "helm chart 1.3" --notify carol
  gatehouse app update web -p shop --hooks hooks.yaml --propose`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := prop.check(cmd); err != nil {
				return err
			}
			if err := s.read(a, cmd); err != nil {
				return err
			}
			if prop.on {
				return a.proposeApp(cmd, &pl, args[0], &s, &prop)
			}
			segs, err := n.at(args[0])
			if err != nil {
				return err
			}
			up := gatehouse.AppUpdate{Description: strPtr(cmd, "description", s.desc), Values: s.values, Hooks: s.hooks}
			if s.chartSet(cmd) {
				var live gatehouse.App
				if err := a.call(cmd, "GET", segs, nil, nil, &live); err != nil {
					return err
				}
				c := s.applyChart(cmd, live.Chart)
				up.Chart = &c
			}
			return n.send(cmd, "PATCH", segs, up)
		},
	}
	for _, c := range []*cobra.Command{create, update} {
		s.bind(c)
	}
	prop.bind(update)
	cmd := group("app", "Manage a project's apps", n.list(nil), n.get(), create, update, n.del(), a.overridesCmd(&pl), a.setOverridesCmd(&pl, n))
	pl.bind(cmd, false)
	return cmd
}

func (a *App) overridesCmd(pl *place) *cobra.Command {
	return &cobra.Command{
		Use:   "overrides NAME",
		Short: "Show an app's values overrides per environment",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			segs, err := pl.projectPath("apps", args[0], "overrides")
			if err != nil {
				return err
			}
			var out map[string]string
			if err := c.Do(cmd.Context(), "GET", path(segs...), nil, nil, &out); err != nil {
				return err
			}
			envs := slices.Sorted(maps.Keys(out))
			return a.render(out, rowsOf(envs, []string{"environment", "values"}, func(e string) []string {
				return []string{e, strings.ReplaceAll(strings.TrimSpace(out[e]), "\n", "; ")}
			}))
		},
	}
}

func (a *App) setOverridesCmd(pl *place, n noun[gatehouse.App]) *cobra.Command {
	var values string
	cmd := &cobra.Command{
		Use:     "set-overrides NAME ENV --values FILE",
		Short:   "Replace an environment's values overrides (an empty file removes them)",
		Example: "  gatehouse app set-overrides web prod -p shop --values prod.yaml",
		Args:    exactArgs(2, "NAME", "ENV"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if values == "" {
				return gatehouse.Invalidf("--values", "is required: expected a YAML file ('-' for stdin)")
			}
			text, err := a.readFileFlag("values", values)
			if err != nil {
				return err
			}
			segs, err := pl.projectPath("apps", args[0], "overrides", args[1])
			if err != nil {
				return err
			}
			return n.send(cmd, "PUT", segs, httpapi.Overrides{Values: text})
		},
	}
	cmd.Flags().StringVar(&values, "values", "", "values overrides file, YAML ('-' for stdin)")
	return cmd
}

func chartText(c gatehouse.Chart) string {
	switch c.Source {
	case gatehouse.ChartDirectory:
		return "dir:" + c.Path
	case gatehouse.ChartRepository:
		return c.URL + "/" + c.Name + versionSuffix(c.Version)
	case gatehouse.ChartOCI:
		return c.URL + versionSuffix(c.Version)
	}
	return string(c.Source)
}

func versionSuffix(v string) string {
	if v == "" {
		return ""
	}
	return "@" + v
}
