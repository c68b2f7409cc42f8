package cli

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse"
)

func (a *App) historyCmd() *cobra.Command {
	var pl place
	var env string
	var limit int
	n := noun[gatehouse.Deployment]{a: a, name: "deployment", header: deploymentHeader, row: deploymentRow,
		base: func() ([]string, error) { return pl.appPath("deployments") }}
	cmd := n.list(func() url.Values {
		q := url.Values{"limit": {strconv.Itoa(limit)}}
		if env != "" {
			q.Set("environment", env)
		}
		return q
	})
	cmd.Use, cmd.Short = "history", "List an app's deployments, newest first"
	cmd.Flags().StringVarP(&env, "env", "e", "", "only this environment")
	cmd.Flags().IntVar(&limit, "limit", 20, "how many")
	pl.bind(cmd, true)
	return cmd
}

func (a *App) deploymentCmd() *cobra.Command {
	var pl place
	get := &cobra.Command{
		Use:   "get ID",
		Short: "Show a deployment with its events",
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			segs, err := pl.appPath("deployments", args[0])
			if err != nil {
				return err
			}
			var d gatehouse.Deployment
			if err := c.Do(cmd.Context(), "GET", path(segs...), nil, nil, &d); err != nil {
				return err
			}
			t := rowsOf(d.Events, []string{"time", "step", "message"}, func(e gatehouse.DeploymentEvent) []string {
				return []string{e.Time.Local().Format("15:04:05.000"), e.Step, strings.ReplaceAll(e.Message, "\n", " ⏎ ")}
			})
			if a.output == "table" {
				fmt.Fprintf(a.Out, "Deployment %d: %s of %s to %s (%s/%s), %s", d.ID, d.Kind, d.Image, d.Environment, d.Cluster, d.Namespace, d.State)
				if d.Cause != "" {
					fmt.Fprintf(a.Out, ": %s", d.Cause)
				}
				fmt.Fprintf(a.Out, "\nConfig revision %d, Helm revision %d, by %s\n\n", d.ConfigRevision, d.HelmRevision, d.TriggeredBy)
			}
			return a.render(d, t)
		},
	}
	diff := &cobra.Command{
		Use:   "diff FROM-ID TO-ID",
		Short: "Compare two deployments: image and values, path by path",
		Args:  exactArgs(2, "FROM-ID", "TO-ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			segs, err := pl.appPath("deployments", args[0], "diff", args[1])
			if err != nil {
				return err
			}
			var d gatehouse.DeploymentDiff
			if err := c.Do(cmd.Context(), "GET", path(segs...), nil, nil, &d); err != nil {
				return err
			}
			if a.output == "json" {
				return a.render(d, table{})
			}
			printDiff(a, &d)
			return nil
		},
	}
	cmd := group("deployment", "Inspect deployments", get, diff)
	pl.bind(cmd, true)
	return cmd
}

func printDiff(a *App, d *gatehouse.DeploymentDiff) {
	fmt.Fprintf(a.Out, "--- deployment %d (%s, %s)\n+++ deployment %d (%s, %s)\n", d.From.ID, d.From.Environment, d.From.State, d.To.ID, d.To.Environment, d.To.State)
	if d.Image != nil {
		fmt.Fprintf(a.Out, "~ image: %s → %s\n", d.Image.Old, d.Image.New)
	}
	if d.SecretsByKey {
		fmt.Fprintln(a.Out, "# "+gatehouse.SecretsByKeyNote)
	}
	for _, ch := range d.Changes {
		fmt.Fprintln(a.Out, ch)
	}
	if d.Image == nil && len(d.Changes) == 0 {
		fmt.Fprintln(a.Out, "(no differences)")
	}
}
