package cli

import (
	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse"
)

func (a *App) projectCmd() *cobra.Command {
	n := noun[gatehouse.Project]{a: a, name: "project", header: []string{"name", "description", "created"},
		row:  func(p *gatehouse.Project) []string { return []string{p.Name, p.Description, when(p.CreatedAt)} },
		base: fixed("projects")}
	var desc string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a project",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return n.send(cmd, "POST", []string{"projects"}, gatehouse.ProjectCreate{Name: args[0], Description: desc})
		},
	}
	create.Flags().StringVar(&desc, "description", "", "what the project is")
	update := &cobra.Command{
		Use:   "update NAME",
		Short: "Change a project",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return n.send(cmd, "PATCH", []string{"projects", args[0]}, gatehouse.ProjectUpdate{Description: strPtr(cmd, "description", desc)})
		},
	}
	update.Flags().StringVar(&desc, "description", "", "what the project is")
	return group("project", "Manage projects", n.list(nil), n.get(), create, update, n.del())
}

func (a *App) clusterCmd() *cobra.Command {
	n := noun[gatehouse.Cluster]{a: a, name: "cluster", header: []string{"name", "server", "description"},
		row:  func(c *gatehouse.Cluster) []string { return []string{c.Name, c.Server, c.Description} },
		base: fixed("clusters")}
	var desc, kubeconfig string
	create := &cobra.Command{
		Use:     "create NAME --kubeconfig FILE",
		Short:   "Register a cluster (its kubeconfig is stored encrypted and never shown again)",
		Example: "  gatehouse cluster create prod-eu --kubeconfig ~/.kube/prod-eu.yaml",
		Args:    exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if kubeconfig == "" {
				return gatehouse.Invalidf("--kubeconfig", "is required: expected a kubeconfig file ('-' for stdin)")
			}
			kc, err := a.readFileFlag("kubeconfig", kubeconfig)
			if err != nil {
				return err
			}
			return n.send(cmd, "POST", []string{"clusters"}, gatehouse.ClusterCreate{Name: args[0], Description: desc, Kubeconfig: gatehouse.OutgoingSecret(kc)})
		},
	}
	update := &cobra.Command{
		Use:   "update NAME",
		Short: "Change a cluster's description or credentials",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := gatehouse.ClusterUpdate{Description: strPtr(cmd, "description", desc)}
			if kubeconfig != "" {
				kc, err := a.readFileFlag("kubeconfig", kubeconfig)
				if err != nil {
					return err
				}
				s := gatehouse.OutgoingSecret(kc)
				in.Kubeconfig = &s
			}
			return n.send(cmd, "PATCH", []string{"clusters", args[0]}, in)
		},
	}
	for _, c := range []*cobra.Command{create, update} {
		c.Flags().StringVar(&desc, "description", "", "what the cluster is")
		c.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file ('-' for stdin)")
	}
	return group("cluster", "Manage Kubernetes clusters", n.list(nil), n.get(), create, update, n.del())
}

func (a *App) envCmd() *cobra.Command {
	var pl place
	n := noun[gatehouse.Environment]{a: a, name: "environment", header: []string{"name", "cluster", "namespace", "production"},
		row: func(e *gatehouse.Environment) []string {
			return []string{e.Name, e.Cluster, e.Namespace, yesNo(e.Production)}
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
	update := &cobra.Command{
		Use:   "update NAME",
		Short: "Change an environment",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			segs, err := n.at(args[0])
			if err != nil {
				return err
			}
			up := gatehouse.EnvironmentUpdate{Cluster: strPtr(cmd, "cluster", in.Cluster), Namespace: strPtr(cmd, "namespace", in.Namespace),
				Description: strPtr(cmd, "description", in.Description)}
			if flagSet(cmd, "production") {
				up.Production = &in.Production
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
	cmd := group("env", "Manage a project's environments", n.list(nil), n.get(), create, update, n.del())
	pl.bind(cmd, false)
	return cmd
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
