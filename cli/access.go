package cli

import (
	"fmt"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse"
)

func (a *App) accessCmd() *cobra.Command {
	n := noun[gatehouse.RoleBinding]{a: a, name: "role binding", header: []string{"id", "subject", "role", "scope", "granted by", "since"},
		row: func(b *gatehouse.RoleBinding) []string {
			subject := "user:" + b.User
			if b.Group != "" {
				subject = "group:" + b.Group
			}
			return []string{fmt.Sprint(b.ID), subject, string(b.Role), b.Scope, b.CreatedBy, when(b.CreatedAt)}
		},
		base: fixed("rolebindings")}
	var f gatehouse.RoleBindingFilter
	list := n.list(func() url.Values {
		q := url.Values{}
		for k, v := range map[string]string{"user": f.User, "group": f.Group, "project": f.Project} {
			if v != "" {
				q.Set(k, v)
			}
		}
		return q
	})
	list.Flags().StringVar(&f.User, "user", "", "bindings of this user (directly or through groups)")
	list.Flags().StringVar(&f.Group, "group", "", "bindings of this group")
	list.Flags().StringVar(&f.Project, "project", "", "bindings that reach this project")
	var in gatehouse.RoleBindingCreate
	var p proposal
	grant := &cobra.Command{
		Use:   "grant ROLE SCOPE (--user NAME | --group NAME)",
		Short: "Grant a role on a scope; a vote a policy counts, through a draft (--propose)",
		Long: `Grant a role on a scope. Roles: viewer, deployer, image-approver, config-approver, admin,
access-manager, super-admin. Scopes: "*", "project:NAME", then optionally "/app:NAME" and/or
"/env:NAME"; any NAME may be "*" (all, including future ones).

A role that votes where a policy counts it (an approver role where the policy of its kind
reaches; admin or super-admin, who vote under a policy's lock-out rule) is given only through a
draft that the policy's own people approve: a direct grant is refused (exit 7), and --propose
opens and proposes the draft.`,
		Example: `  gatehouse access grant deployer 'project:shop/env:*' --group devs
  gatehouse access grant image-approver project:shop/env:prod --user alice --propose -m "alice joins on-call"`,
		Args: exactArgs(2, "ROLE", "SCOPE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			in.Role, in.Scope = gatehouse.Role(args[0]), args[1]
			if err := p.check(cmd); err != nil {
				return err
			}
			if !p.on {
				return n.send(cmd, "POST", []string{"rolebindings"}, in)
			}
			if _, err := in.Validate(); err != nil {
				return err
			}
			ref := gatehouse.DraftRef{Kind: gatehouse.DraftAccess, User: in.User, Group: in.Group}
			return a.proposeAccess(cmd, ref, func(ac *gatehouse.Access) {
				ac.Roles = append(ac.Roles, gatehouse.RoleGrant{Role: in.Role, Scope: in.Scope})
			}, &p)
		},
	}
	grant.Flags().StringVar(&in.User, "user", "", "user to grant to")
	grant.Flags().StringVar(&in.Group, "group", "", "group to grant to")
	p.bind(grant)
	revoke := n.del()
	revoke.Use, revoke.Short = "revoke ID", "Revoke a role binding (see access list for ids)"
	return group("access", "Grant and revoke roles", list, grant, revoke)
}

func (a *App) tokenCmd() *cobra.Command {
	var user string
	n := noun[gatehouse.Token]{a: a, name: "token", header: []string{"id", "name", "user", "kind", "made by", "prefix", "expires", "last used", "state"},
		row: func(t *gatehouse.Token) []string {
			used, state, kind := "never", "active", "api"
			if t.LastUsedAt != nil {
				used = when(*t.LastUsedAt)
			}
			if t.Interactive {
				kind = "login" // made by gatehouse login: can approve; a password change revokes it
			}
			if t.RevokedAt != nil {
				state = "revoked " + when(*t.RevokedAt)
				if t.RevokedReason != "" {
					state += ": " + t.RevokedReason
				}
			}
			return []string{fmt.Sprint(t.ID), t.Name, t.User, kind, t.MadeBy, t.Prefix + "…", when(t.ExpiresAt), used, state}
		},
		base: func() ([]string, error) {
			if user != "" {
				return []string{"users", user, "tokens"}, nil
			}
			return []string{"tokens"}, nil
		}}
	var in gatehouse.TokenCreate
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create an API token (shown once); --user for a service account's token",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			segs, _ := n.base()
			c, err := a.client()
			if err != nil {
				return err
			}
			in.Name = args[0]
			var tok gatehouse.NewToken
			if err := c.Do(cmd.Context(), "POST", path(segs...), nil, in, &tok); err != nil {
				return err
			}
			if a.output == "json" {
				return a.render(tok, table{})
			}
			fmt.Fprintf(a.Out, "Token %q for %s, expires %s. It is shown only now:\n%s\n", tok.Name, tok.User, when(tok.ExpiresAt), tok.Secret)
			return nil
		},
	}
	create.Flags().StringVar(&in.ExpiresIn, "expires-in", "", "lifetime, e.g. 720h (default 90 days, at most 366 days)")
	list := n.list(nil)
	own := n
	own.base = fixed("tokens")
	revoke := own.del()
	revoke.Use, revoke.Short = "revoke ID", "Revoke a token"
	cmd := group("token", "Manage API tokens", list, create, revoke)
	cmd.PersistentFlags().StringVar(&user, "user", "", "a service account's tokens instead of your own")
	return cmd
}

// proposeAccess opens and proposes a draft of a user's or group's access: what is live now,
// changed by edit.
func (a *App) proposeAccess(cmd *cobra.Command, ref gatehouse.DraftRef, edit func(*gatehouse.Access), p *proposal) error {
	return a.propose(cmd, ref, func(live string) (string, error) { return gatehouse.EditAccess(live, edit) }, p)
}
