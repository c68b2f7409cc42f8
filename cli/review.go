package cli

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse"
)

func (a *App) reviewCmd() *cobra.Command {
	n := noun[gatehouse.Review]{a: a, name: "review", header: []string{"id", "deployment", "target", "by", "reason", "skipped", "state", "due", "acknowledged by"},
		row: func(r *gatehouse.Review) []string {
			state := string(r.State)
			if r.Overdue {
				state = "overdue"
			}
			return []string{fmt.Sprint(r.ID), fmt.Sprint(r.Deployment), r.Project + "/" + r.App + " " + r.Environment, r.By, r.Reason,
				strings.Join(append(append([]string{}, r.Skipped...), r.Windows...), ", "), state, when(r.DueAt), strings.Join(r.Acknowledgers(), ", ")}
		},
		base: fixed("reviews")}
	var project, state string
	var overdue bool
	list := n.list(func() url.Values {
		q := url.Values{}
		if project != "" {
			q.Set("project", project)
		}
		if state != "" {
			q.Set("state", state)
		}
		if overdue {
			q.Set("overdue", "true")
		}
		return q
	})
	list.Short = "List reviews of break-glass deployments"
	list.Flags().StringVarP(&project, "project", "p", "", "only this project's")
	list.Flags().StringVar(&state, "state", "", "open or acknowledged")
	list.Flags().BoolVar(&overdue, "overdue", false, "only open reviews past due")
	show := n.get()
	show.Use, show.Short = "show ID", "Show a review: the deployment, the reason, who acknowledged"
	var comment string
	ack := &cobra.Command{
		Use:     "acknowledge ID --comment TEXT",
		Short:   "Acknowledge a break-glass deployment you reviewed, saying what you checked",
		Example: `  gatehouse review acknowledge 3 -m "checked the hotfix diff and the incident ticket"`,
		Args:    exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := strconv.ParseInt(args[0], 10, 64); err != nil {
				return gatehouse.Invalidf("ID", "%q is not a review id: expected a number", args[0])
			}
			return n.send(cmd, "POST", []string{"reviews", args[0], "acknowledge"}, gatehouse.Decision{Comment: comment})
		},
	}
	ack.Flags().StringVarP(&comment, "comment", "m", "", "what you checked (required)")
	return group("review", "Review deployments made with break-glass", list, show, ack)
}
