package cli

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/httpapi"
)

func (a *App) appCmd() *cobra.Command {
	var pl place
	n := noun[gatehouse.App]{a: a, name: "app", header: []string{"name", "chart", "description"},
		row:  func(x *gatehouse.App) []string { return []string{x.Name, chartText(x.Chart), x.Description} },
		base: func() ([]string, error) { return pl.projectPath("apps") }}
	var desc, values string
	var chart gatehouse.Chart
	read := func(cmd *cobra.Command) (*string, *gatehouse.Chart, error) {
		var v *string
		if values != "" {
			s, err := a.readFileFlag("values", values)
			if err != nil {
				return nil, nil, err
			}
			v = &s
		}
		var c *gatehouse.Chart
		for _, f := range []string{"chart-source", "chart-path", "chart-url", "chart-name", "chart-version"} {
			if flagSet(cmd, f) {
				c = &chart
			}
		}
		return v, c, nil
	}
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
			v, c, err := read(cmd)
			if err != nil {
				return err
			}
			in := gatehouse.AppCreate{Name: args[0], Description: desc}
			if v != nil {
				in.Values = *v
			}
			if c != nil {
				in.Chart = *c
			}
			return n.send(cmd, "POST", segs, in)
		},
	}
	update := &cobra.Command{
		Use:   "update NAME",
		Short: "Change an app's description, chart or base values",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			segs, err := n.at(args[0])
			if err != nil {
				return err
			}
			v, c, err := read(cmd)
			if err != nil {
				return err
			}
			return n.send(cmd, "PATCH", segs, gatehouse.AppUpdate{Description: strPtr(cmd, "description", desc), Values: v, Chart: c})
		},
	}
	for _, c := range []*cobra.Command{create, update} {
		f := c.Flags()
		f.StringVar(&desc, "description", "", "what the app is")
		f.StringVar(&values, "values", "", "base Helm values file, YAML ('-' for stdin)")
		f.StringVar((*string)(&chart.Source), "chart-source", "builtin", "chart source: builtin, directory, repository or oci")
		f.StringVar(&chart.Path, "chart-path", "", "chart directory on the server (source directory)")
		f.StringVar(&chart.URL, "chart-url", "", "repository URL or oci:// reference")
		f.StringVar(&chart.Name, "chart-name", "", "chart name in the repository")
		f.StringVar(&chart.Version, "chart-version", "", "chart version (newest when empty)")
	}
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

func (a *App) pipelineCmd() *cobra.Command {
	var pl place
	n := noun[gatehouse.Pipeline]{a: a, name: "pipeline", header: []string{"stages"},
		row:  func(p *gatehouse.Pipeline) []string { return []string{pipelineText(p.Stages)} },
		base: func() ([]string, error) { return pl.appPath("pipeline") }}
	get := &cobra.Command{
		Use:   "get",
		Short: "Show an app's pipeline",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			segs, err := n.base()
			if err != nil {
				return err
			}
			return n.send(cmd, "GET", segs, nil)
		},
	}
	var stages []string
	var file string
	set := &cobra.Command{
		Use:   "set (--stage SPEC… | --file FILE)",
		Short: "Replace an app's pipeline",
		Long: `Replace an app's pipeline. Each --stage is
ENV[,after=STAGE][,trigger=auto|manual][,name=NAME][,timeout=5m][,auto_rollback=true];
a stage without after= follows the source. --file takes the same as YAML or JSON:
  stages: [{environment: dev, trigger: auto}, {environment: prod, after: dev}]`,
		Example: "  gatehouse pipeline set -p shop -a web --stage dev,trigger=auto --stage stage,after=dev,trigger=auto --stage prod,after=stage",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			segs, err := n.base()
			if err != nil {
				return err
			}
			in, err := a.pipelineInput(stages, file)
			if err != nil {
				return err
			}
			return n.send(cmd, "PUT", segs, in)
		},
	}
	set.Flags().StringArrayVar(&stages, "stage", nil, "a stage: ENV[,after=STAGE][,trigger=auto|manual][,name=NAME][,timeout=DURATION][,auto_rollback=BOOL] (repeat)")
	set.Flags().StringVarP(&file, "file", "f", "", "pipeline file, YAML or JSON ('-' for stdin)")
	cmd := group("pipeline", "Show and set an app's pipeline of stages", get, set)
	pl.bind(cmd, true)
	return cmd
}

// pipelineInput builds a pipeline from --stage specs or a file.
func (a *App) pipelineInput(specs []string, file string) (gatehouse.PipelineSet, error) {
	var in gatehouse.PipelineSet
	if file != "" {
		text, err := a.readFileFlag("file", file)
		if err != nil {
			return in, err
		}
		d := yaml.NewDecoder(strings.NewReader(text))
		d.KnownFields(true)
		if err := d.Decode(&in); err != nil {
			return in, gatehouse.Invalidf("--file", "is not a pipeline (%v): expected stages: [{environment: …, after: …, trigger: …}]", err)
		}
		return in, nil
	}
	in.Stages = []gatehouse.Stage{}
	for i, spec := range specs {
		parts := strings.Split(spec, ",")
		st := gatehouse.Stage{Environment: parts[0]}
		for _, p := range parts[1:] {
			k, v, _ := strings.Cut(p, "=")
			switch k {
			case "after":
				st.After = v
			case "trigger":
				st.Trigger = gatehouse.Trigger(v)
			case "name":
				st.Name = v
			case "timeout":
				st.Timeout = v
			case "auto_rollback":
				b, err := strconv.ParseBool(v)
				if err != nil {
					return in, gatehouse.Invalidf(fmt.Sprintf("--stage[%d]", i), "auto_rollback=%q: expected true or false", v)
				}
				st.AutoRollback = b
			default:
				return in, gatehouse.Invalidf(fmt.Sprintf("--stage[%d]", i), "%q is not a stage setting: expected after=, trigger=, name=, timeout= or auto_rollback=", k)
			}
		}
		in.Stages = append(in.Stages, st)
	}
	return in, nil
}

// pipelineText draws the stage tree on one line: "dev(auto) → stage(auto) → prod(manual)",
// with siblings in brackets.
func pipelineText(stages []gatehouse.Stage) string {
	children := map[string][]gatehouse.Stage{}
	for _, s := range stages {
		children[s.After] = append(children[s.After], s)
	}
	var walk func(parent string) string
	walk = func(parent string) string {
		kids := children[parent]
		var parts []string
		for _, k := range kids {
			p := fmt.Sprintf("%s(%s)", k.Name, k.Trigger)
			if next := walk(k.Name); next != "" {
				p += " → " + next
			}
			parts = append(parts, p)
		}
		if len(parts) > 1 {
			return "[" + strings.Join(parts, " | ") + "]"
		}
		return strings.Join(parts, "")
	}
	if len(stages) == 0 {
		return "(no stages)"
	}
	return "source → " + walk("")
}
