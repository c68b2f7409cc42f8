package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse"
)

func (a *App) userCmd() *cobra.Command {
	n := noun[gatehouse.User]{a: a, name: "user", header: []string{"name", "kind", "display name", "email", "disabled", "groups"},
		row: func(u *gatehouse.User) []string {
			return []string{u.Name, string(u.Kind), u.DisplayName, u.Email, yesNo(u.Disabled), strings.Join(u.Groups, ",")}
		},
		base: fixed("users")}
	var in gatehouse.UserCreate
	var service bool
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a person (password from the terminal or stdin) or, with --service, a service account",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			in.Name, in.Kind = args[0], gatehouse.HumanUser
			if service {
				in.Kind = gatehouse.ServiceAccount
			} else {
				pw, err := a.readSecret("Password for " + in.Name + ": ")
				if err != nil {
					return err
				}
				in.Password = pw
			}
			return n.send(cmd, "POST", []string{"users"}, in)
		},
	}
	update := &cobra.Command{
		Use:   "update NAME",
		Short: "Change a user's display name or e-mail",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return n.send(cmd, "PATCH", []string{"users", args[0]},
				gatehouse.UserUpdate{DisplayName: strPtr(cmd, "display-name", in.DisplayName), Email: strPtr(cmd, "email", in.Email)})
		},
	}
	for _, c := range []*cobra.Command{create, update} {
		c.Flags().StringVar(&in.DisplayName, "display-name", "", "name shown to people")
		c.Flags().StringVar(&in.Email, "email", "", "e-mail address for notifications")
	}
	create.Flags().BoolVar(&service, "service", false, "a service account for CI (tokens only, never approves)")
	toggle := func(use, short string, disabled bool) *cobra.Command {
		return &cobra.Command{
			Use: use + " NAME", Short: short, Args: exactArgs(1, "NAME"),
			RunE: func(cmd *cobra.Command, args []string) error {
				return n.send(cmd, "PATCH", []string{"users", args[0]}, gatehouse.UserUpdate{Disabled: &disabled})
			},
		}
	}
	reset := &cobra.Command{
		Use:   "set-password NAME",
		Short: "Set a person's password (from the terminal or stdin); ends their sessions and revokes their login tokens",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := a.readSecret("New password for " + args[0] + ": ")
			if err != nil {
				return err
			}
			return n.send(cmd, "PATCH", []string{"users", args[0]}, gatehouse.UserUpdate{Password: &pw})
		},
	}
	return group("user", "Manage users and service accounts", n.list(nil), n.get(), create, update,
		toggle("disable", "Disable a user: sessions end, login tokens are revoked, other tokens stop working", true), toggle("enable", "Enable a user again", false), reset)
}

func (a *App) groupCmd() *cobra.Command {
	n := noun[gatehouse.Group]{a: a, name: "group", header: []string{"name", "members", "description"},
		row: func(g *gatehouse.Group) []string {
			return []string{g.Name, strings.Join(g.Members, ","), g.Description}
		},
		base: fixed("groups")}
	var in gatehouse.GroupCreate
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a group",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			in.Name = args[0]
			return n.send(cmd, "POST", []string{"groups"}, in)
		},
	}
	create.Flags().StringArrayVar(&in.Members, "member", nil, "member user name (repeat)")
	create.Flags().StringVar(&in.Description, "description", "", "what the group is for")
	var p proposal
	add := &cobra.Command{
		Use: "add-member GROUP USER", Args: exactArgs(2, "GROUP", "USER"),
		Short: "Add a user to a group; where that gives a vote a policy counts, through a draft (--propose)",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := p.check(cmd); err != nil {
				return err
			}
			if !p.on {
				return n.send(cmd, "PUT", []string{"groups", args[0], "members", args[1]}, nil)
			}
			ref := gatehouse.DraftRef{Kind: gatehouse.DraftAccess, Group: args[0]}
			return a.proposeAccess(cmd, ref, func(ac *gatehouse.Access) { ac.Members = append(ac.Members, args[1]) }, &p)
		},
	}
	p.bind(add)
	remove := &cobra.Command{
		Use: "remove-member GROUP USER", Short: "Remove a user from a group (applies at once)", Args: exactArgs(2, "GROUP", "USER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return n.send(cmd, "DELETE", []string{"groups", args[0], "members", args[1]}, nil)
		},
	}
	return group("group", "Manage groups of users", n.list(nil), n.get(), create, n.del(), add, remove)
}
