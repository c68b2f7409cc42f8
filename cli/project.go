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
	n := noun[gatehouse.Cluster]{a: a, name: "cluster", header: []string{"name", "server", "identity", "description"},
		row: func(c *gatehouse.Cluster) []string {
			id := c.Identity
			if id == "" {
				id = "(not reached yet)"
			}
			return []string{c.Name, c.Server, id, c.Description}
		},
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

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
