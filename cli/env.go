package cli

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse"
)

func (a *App) envCmd() *cobra.Command {
	var pl place
	n := noun[gatehouse.Environment]{a: a, name: "environment", header: []string{"name", "cluster", "namespace", "allows", "production"},
		row: func(e *gatehouse.Environment) []string {
			return []string{e.Name, e.Cluster, e.Namespace, allowsText(e.Placement), yesNo(e.Production)}
		},
		base: func() ([]string, error) { return pl.projectPath("environments") }}
	var in gatehouse.EnvironmentCreate
	create := &cobra.Command{
		Use:     "create NAME --cluster CLUSTER --namespace NS",
		Short:   "Create an environment: a namespace of a cluster",
		Example: "  gatehouse env create prod -p shop --cluster prod-eu --namespace shop --production",
		Args:    exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			segs, err := n.base()
			if err != nil {
				return err
			}
			in.Name = args[0]
			return n.send(cmd, "POST", segs, in)
		},
	}
	var clusterScoped bool
	var namespaces []string
	var prop proposal
	update := &cobra.Command{
		Use:   "update NAME",
		Short: "Change an environment; its placement, where policies protect it, through a draft (--propose)",
		Long: `Change an environment. Its placement (--cluster, --namespace, --allow-cluster-scoped,
--allow-namespace) decides where releases go: where any policy reaches the environment it is
protected, and a direct change is refused (exit 7). With --propose the change becomes a draft
of kind environment, proposed to the people who must approve it; it applies when published.`,
		Example: `  gatehouse env update dev -p shop --description "for the team"
  gatehouse env update prod -p shop --namespace shop-v2 --propose -m "own namespace" --notify carol
  gatehouse env update prod -p shop --allow-namespace monitoring --allow-cluster-scoped --propose`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := prop.check(cmd); err != nil {
				return err
			}
			up := gatehouse.EnvironmentUpdate{Cluster: strPtr(cmd, "cluster", in.Cluster), Namespace: strPtr(cmd, "namespace", in.Namespace),
				Description: strPtr(cmd, "description", in.Description)}
			if flagSet(cmd, "production") {
				up.Production = &in.Production
			}
			if flagSet(cmd, "allow-cluster-scoped") {
				up.AllowClusterScoped = &clusterScoped
			}
			if flagSet(cmd, "allow-namespace") {
				ns := slices.DeleteFunc(slices.Clone(namespaces), func(s string) bool { return s == "" })
				up.AllowNamespaces = &ns
			}
			if prop.on {
				return a.proposePlacement(cmd, &pl, args[0], up, &prop)
			}
			segs, err := n.at(args[0])
			if err != nil {
				return err
			}
			return n.send(cmd, "PATCH", segs, up)
		},
	}
	for _, c := range []*cobra.Command{create, update} {
		c.Flags().StringVar(&in.Cluster, "cluster", "", "cluster name")
		c.Flags().StringVar(&in.Namespace, "namespace", "", "Kubernetes namespace")
		c.Flags().BoolVar(&in.Production, "production", false, "counts as production (for delivery metrics)")
		c.Flags().StringVar(&in.Description, "description", "", "what the environment is")
	}
	update.Flags().BoolVar(&clusterScoped, "allow-cluster-scoped", false, "releases may create cluster-scoped objects (--allow-cluster-scoped=false forbids them)")
	update.Flags().StringArrayVar(&namespaces, "allow-namespace", nil, "another namespace releases may create objects in (repeat: the whole list; '' clears it)")
	prop.bind(update)
	cmd := group("env", "Manage a project's environments", n.list(nil), n.get(), create, update, n.del())
	pl.bind(cmd, false)
	return cmd
}

// proposePlacement opens and proposes a draft that moves an environment as up says.
func (a *App) proposePlacement(cmd *cobra.Command, pl *place, env string, up gatehouse.EnvironmentUpdate, p *proposal) error {
	if err := p.only(cmd, gatehouse.DraftEnvironment, "description", "production"); err != nil {
		return err
	}
	if _, set := up.Place(gatehouse.Placement{}); !set {
		return gatehouse.Invalidf("--propose", "has no placement to draft: expected --cluster, --namespace, --allow-cluster-scoped or --allow-namespace")
	}
	if _, err := pl.projectPath(); err != nil {
		return err
	}
	ref := gatehouse.DraftRef{Kind: gatehouse.DraftEnvironment, Project: pl.project, Environment: env}
	return a.propose(cmd, ref, func(live string) (string, error) {
		var now gatehouse.Placement
		if err := gatehouse.ParseSetting("live placement", live, &now); err != nil {
			return "", err
		}
		next, _ := up.Place(now)
		return gatehouse.RenderSetting(next)
	}, p)
}

// allowsText says what an environment's releases may create outside their namespace.
func allowsText(p gatehouse.Placement) string {
	var parts []string
	if p.AllowClusterScoped {
		parts = append(parts, "cluster-scoped")
	}
	if len(p.AllowNamespaces) > 0 {
		parts = append(parts, "namespaces "+strings.Join(p.AllowNamespaces, ","))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}
