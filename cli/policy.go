package cli

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse"
)

func (a *App) policyCmd() *cobra.Command {
	n := noun[gatehouse.Policy]{a: a, name: "policy", header: []string{"name", "kind", "scope", "rules", "version", "expiry", "rollback"},
		row: func(p *gatehouse.Policy) []string {
			var rules []string
			for _, r := range p.Rules {
				rules = append(rules, r.String())
			}
			return []string{p.Name, string(p.Kind), p.Scope, strings.Join(rules, " + "), strconv.FormatInt(p.Version, 10), p.Expiry, string(p.Rollback)}
		},
		base: fixed("policies")}
	var file string
	read := func() (gatehouse.PolicySpec, error) {
		var spec gatehouse.PolicySpec
		if file == "" {
			return spec, gatehouse.Invalidf("--file", "is required: expected a policy in YAML or JSON")
		}
		text, err := a.readFileFlag("file", file)
		if err != nil {
			return spec, err
		}
		// The setting's own reader: the same field names (requester_may_approve) as the API
		// and policy drafts.
		return spec, gatehouse.ParseSetting("--file", text, &spec)
	}
	create := &cobra.Command{
		Use:   "create --file FILE",
		Short: "Create a policy from YAML",
		Long: `Create a policy from YAML, e.g.:
  name: prod-gate
  scope: project:shop/env:prod
  rules:
    - {kind: any, count: 1}
    - {kind: group, group: security, count: 1}
  expiry: 72h            # or none
  rollback: pre-approved # or approval (the default)
  conditions: ['artifact.registry == "registry.example.com"']`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			spec, err := read()
			if err != nil {
				return err
			}
			return n.send(cmd, "POST", []string{"policies"}, spec)
		},
	}
	var prop proposal
	update := &cobra.Command{
		Use:   "update NAME --file FILE",
		Short: "Replace a policy: at once if it is at least as strict, else through a draft (--propose)",
		Long: `Replace a policy (open requests under it become stale). A replacement at least as strict
applies at once. One that loosens the policy (fewer approvers, a narrower scope, a separation
of duties switched off, a longer expiry, pre-approved rollbacks, …) is refused (exit 7): with
--propose it becomes a draft that the policy's own approvers judge, never its author.`,
		Example: `  gatehouse policy update prod-gate -f prod-gate.yaml
  gatehouse policy update prod-gate -f prod-gate.yaml --propose -m "one approver at night" --notify bob`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := prop.check(cmd); err != nil {
				return err
			}
			spec, err := read()
			if err != nil {
				return err
			}
			if prop.on {
				return a.propose(cmd, gatehouse.DraftRef{Kind: gatehouse.DraftPolicy, Policy: args[0]},
					func(string) (string, error) { return gatehouse.RenderSetting(spec) }, &prop)
			}
			return n.send(cmd, "PUT", []string{"policies", args[0]}, spec)
		},
	}
	for _, c := range []*cobra.Command{create, update} {
		c.Flags().StringVarP(&file, "file", "f", "", "policy file, YAML or JSON ('-' for stdin)")
	}
	prop.bind(update)
	var project string
	list := n.list(func() url.Values {
		if project == "" {
			return nil
		}
		return url.Values{"project": {project}}
	})
	list.Flags().StringVarP(&project, "project", "p", "", "only policies reaching this project")
	return group("policy", "Manage approval policies", list, n.get(), create, update, a.policyDeleteCmd(n))
}

// policyDeleteCmd deletes a policy: always a loosening, so a direct delete is refused where
// the server protects it, and --propose opens the draft that deletes it (empty content).
func (a *App) policyDeleteCmd(n noun[gatehouse.Policy]) *cobra.Command {
	var prop proposal
	del := n.del()
	direct := del.RunE
	del.Short = "Delete a policy: through a draft its own approvers judge (--propose)"
	del.Example = `  gatehouse policy delete old-gate --propose -m "replaced by prod-gate" --notify bob`
	del.RunE = func(cmd *cobra.Command, args []string) error {
		if err := prop.check(cmd); err != nil {
			return err
		}
		if !prop.on {
			return direct(cmd, args)
		}
		return a.propose(cmd, gatehouse.DraftRef{Kind: gatehouse.DraftPolicy, Policy: args[0]},
			func(string) (string, error) { return "", nil }, &prop)
	}
	prop.bind(del)
	return del
}
