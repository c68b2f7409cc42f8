package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse"
)

func (a *App) pipelineCmd() *cobra.Command {
	var pl place
	n := noun[gatehouse.Pipeline]{a: a, name: "pipeline", header: []string{"stages", "windows", "waiting"},
		row: func(p *gatehouse.Pipeline) []string {
			return []string{pipelineText(p.Stages), stageWindowsText(p), strconv.Itoa(len(p.Waiting))}
		},
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
	var prop proposal
	set := &cobra.Command{
		Use:   "set (--stage SPEC… | --file FILE)",
		Short: "Replace an app's pipeline (stages of protected environments through a draft: --propose)",
		Long: `Replace an app's pipeline. Each --stage is
ENV[,after=STAGE][,trigger=auto|manual][,name=NAME][,timeout=5m][,auto_rollback=true];
a stage without after= follows the source. --file takes the same as YAML or JSON:
  stages: [{environment: dev, trigger: auto}, {environment: prod, after: dev, auto_rollback: true}]
A change that adds, removes or alters the stage of an environment that policies protect is
refused (exit 7); with --propose it becomes a draft of kind pipeline, proposed to the people
who must approve it.`,
		Example: `  gatehouse pipeline set -p shop -a web --stage dev,trigger=auto --stage stage,after=dev,trigger=auto --stage prod,after=stage
  gatehouse pipeline set -p shop -a web -f pipeline.yaml --propose -m "prod rolls back by itself"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := prop.check(cmd); err != nil {
				return err
			}
			segs, err := n.base()
			if err != nil {
				return err
			}
			in, err := a.pipelineInput(stages, file)
			if err != nil {
				return err
			}
			if prop.on {
				return a.propose(cmd, gatehouse.DraftRef{Kind: gatehouse.DraftPipeline, Project: pl.project, App: pl.app},
					func(string) (string, error) { return gatehouse.RenderSetting(in) }, &prop)
			}
			return n.send(cmd, "PUT", segs, in)
		},
	}
	prop.bind(set)
	set.Flags().StringArrayVar(&stages, "stage", nil, "a stage: ENV[,after=STAGE][,trigger=auto|manual][,name=NAME][,timeout=DURATION][,auto_rollback=BOOL] (repeat)")
	set.Flags().StringVarP(&file, "file", "f", "", "pipeline file, YAML or JSON ('-' for stdin)")
	cmd := group("pipeline", "Show and set an app's pipeline of stages", get, set)
	pl.bind(cmd, true)
	return cmd
}

// stageWindowsText says which stages' windows are closed now and when they open, or that all
// are open.
func stageWindowsText(p *gatehouse.Pipeline) string {
	var closed []string
	for _, st := range p.Stages {
		if v, ok := p.Windows[st.Name]; ok && !v.Open {
			closed = append(closed, st.Name+" "+v.Text())
		}
	}
	if len(closed) == 0 {
		return "all open"
	}
	return strings.Join(closed, "; ")
}

// pipelineInput builds a pipeline from --stage specs or a file.
func (a *App) pipelineInput(specs []string, file string) (gatehouse.PipelineSet, error) {
	var in gatehouse.PipelineSet
	if file != "" {
		text, err := a.readFileFlag("file", file)
		if err != nil {
			return in, err
		}
		// The setting's own reader: the same field names (auto_rollback) as the API and drafts.
		return in, gatehouse.ParseSetting("--file", text, &in)
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
