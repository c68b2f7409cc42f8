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
	g := gatedSetting[gatehouse.Policy, gatehouse.PolicySpec]{n: n,
		ref: func(name string) gatehouse.DraftRef {
			return gatehouse.DraftRef{Kind: gatehouse.DraftPolicy, Policy: name}
		}}
	create := g.create("Create a policy from YAML", `Create a policy from YAML, e.g.:
  name: prod-gate
  scope: project:shop/env:prod
  rules:
    - {kind: any, count: 1}
    - {kind: group, group: security, count: 1}
  expiry: 72h            # or none
  rollback: pre-approved # or approval (the default)
  conditions: ['artifact.registry == "registry.example.com"']`)
	update := g.update("Replace a policy: at once if it is at least as strict, else through a draft (--propose)",
		`Replace a policy (open requests under it become stale). A replacement at least as strict
applies at once. One that loosens the policy (fewer approvers, a narrower scope, a separation
of duties switched off, a longer expiry, pre-approved rollbacks, …) is refused (exit 7): with
--propose it becomes a draft that the policy's own approvers judge, never its author.`,
		`  gatehouse policy update prod-gate -f prod-gate.yaml
  gatehouse policy update prod-gate -f prod-gate.yaml --propose -m "one approver at night" --notify bob`)
	// Deleting is always a loosening: a direct delete is refused where the server protects it.
	del := g.del("Delete a policy: through a draft its own approvers judge (--propose)",
		`  gatehouse policy delete old-gate --propose -m "replaced by prod-gate" --notify bob`)
	var project string
	list := n.list(func() url.Values {
		if project == "" {
			return nil
		}
		return url.Values{"project": {project}}
	})
	list.Flags().StringVarP(&project, "project", "p", "", "only policies reaching this project")
	return group("policy", "Manage approval policies", list, n.get(), create, update, del)
}
