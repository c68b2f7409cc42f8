package cli

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/client"
	"github.com/gatehousehq/gatehouse/httpapi"
)

// DeploymentFailed is the error of a followed deployment that did not succeed; it exits 10.
type DeploymentFailed struct{ D *gatehouse.Deployment }

func (e *DeploymentFailed) Error() string {
	return fmt.Sprintf("deployment %d %s: %s", e.D.ID, e.D.State, e.D.Cause)
}

func deploymentRow(d *gatehouse.Deployment) []string {
	dur := ""
	if d.StartedAt != nil {
		dur = d.Duration(time.Now()).Round(10 * time.Millisecond).String()
	}
	kind := string(d.Kind)
	if d.RollbackOf != 0 {
		kind += fmt.Sprintf(" of #%d", d.RollbackOf)
	}
	if d.BreakGlass != "" {
		kind += " [break-glass]"
	}
	return []string{fmt.Sprint(d.ID), d.Environment, string(d.State), d.Digest[:min(len(d.Digest), 19)], kind,
		fmt.Sprint(d.ConfigRevision), fmt.Sprint(d.HelmRevision), d.TriggeredBy, when(d.CreatedAt), dur, d.Cause}
}

var deploymentHeader = []string{"id", "env", "state", "digest", "kind", "config", "helm rev", "by", "created", "took", "cause"}

func (a *App) deployCmd() *cobra.Command {
	var pl place
	var env, digest, tag, glass string
	var wait bool
	cmd := &cobra.Command{
		Use:   "deploy --env ENV (--digest DIGEST | --tag TAG)",
		Short: "Deploy an artifact to an environment (a stage of the app's pipeline)",
		Example: `  gatehouse deploy -p shop -a web --env dev --tag 1.4.0 --wait
  gatehouse deploy -p shop -a web --env prod --digest sha256:… `,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			segs, err := pl.appPath("deployments")
			if err != nil {
				return err
			}
			if digest, err = a.pickDigest(cmd.Context(), c, &pl, digest, tag); err != nil {
				return err
			}
			var d gatehouse.Deployment
			if err := c.Do(cmd.Context(), "POST", path(segs...), nil, gatehouse.DeploymentCreate{Environment: env, Digest: digest, BreakGlass: glass}, &d); err != nil {
				return err
			}
			return a.afterStart(cmd.Context(), c, &pl, &d, wait)
		},
	}
	cmd.Flags().StringVarP(&env, "env", "e", "", "environment to deploy to")
	cmd.Flags().StringVar(&digest, "digest", "", "artifact digest (sha256:…)")
	cmd.Flags().StringVarP(&tag, "tag", "t", "", "artifact tag, resolved to its digest now")
	cmd.Flags().StringVar(&glass, "break-glass", "", "emergency: deploy through closed windows and without the image approval, with this reason "+
		"(at least 20 characters; needs the break-glass role and `gatehouse login`; the approvers passed over are told and review it)")
	cmd.Flags().BoolVarP(&wait, "wait", "w", false, "follow the deployment until it ends (exit 10 if it fails)")
	pl.bind(cmd, true)
	return cmd
}

// pickDigest returns the digest of --digest, or of the artifact --tag names; exactly one must
// be given. A tag is resolved to the digest it points at now.
func (a *App) pickDigest(ctx context.Context, c *client.Client, pl *place, digest, tag string) (string, error) {
	if (digest == "") == (tag == "") {
		return "", gatehouse.Invalidf("--digest", "expected exactly one of --digest or --tag")
	}
	if tag == "" {
		return digest, nil
	}
	segs, err := pl.appPath("artifacts")
	if err != nil {
		return "", err
	}
	var arts httpapi.List[gatehouse.Artifact]
	if err := c.Do(ctx, "GET", path(segs...), url.Values{"tag": {tag}}, nil, &arts); err != nil {
		return "", err
	}
	if len(arts.Items) == 0 {
		return "", gatehouse.NotFoundf("no artifact of app %s is tagged %q", pl.app, tag)
	}
	return arts.Items[0].Digest, nil
}

// afterStart reports a queued deployment, following it when asked.
func (a *App) afterStart(ctx context.Context, c *client.Client, pl *place, d *gatehouse.Deployment, wait bool) error {
	if !wait {
		return a.render(d, rowsOf([]*gatehouse.Deployment{d}, deploymentHeader, deploymentRow))
	}
	if a.output == "table" {
		fmt.Fprintf(a.Out, "Deployment %d of %s to %s queued.\n", d.ID, d.Image, d.Environment)
	}
	final, err := a.follow(ctx, c, pl, d.ID)
	if err != nil {
		return err
	}
	if a.output == "json" {
		if err := a.render(final, table{}); err != nil {
			return err
		}
	} else if final.State == gatehouse.StateSucceeded {
		fmt.Fprintf(a.Out, "Deployment %d succeeded in %s.\n", final.ID, final.Duration(time.Now()).Round(time.Millisecond))
	}
	if final.State != gatehouse.StateSucceeded {
		return &DeploymentFailed{D: final}
	}
	return nil
}

// follow polls the deployment, printing new events, until it ends.
func (a *App) follow(ctx context.Context, c *client.Client, pl *place, id int64) (*gatehouse.Deployment, error) {
	segs, err := pl.appPath("deployments", strconv.FormatInt(id, 10))
	if err != nil {
		return nil, err
	}
	seen := 0
	for {
		var d gatehouse.Deployment
		if err := c.Do(ctx, "GET", path(segs...), nil, nil, &d); err != nil {
			return nil, err
		}
		for _, e := range d.Events[seen:] {
			if a.output == "table" {
				fmt.Fprintf(a.Out, "  %s  %-11s %s\n", e.Time.Local().Format("15:04:05.000"), e.Step, strings.ReplaceAll(e.Message, "\n", "\n      "))
			}
		}
		seen = len(d.Events)
		if d.State.Terminal() {
			return &d, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (a *App) rollbackCmd() *cobra.Command {
	var pl place
	var wait bool
	var prop proposal
	cmd := &cobra.Command{
		Use:   "rollback DEPLOYMENT-ID",
		Short: "Deploy an earlier deployment's artifact and config again",
		Long: `Deploy an earlier deployment's artifact and configuration again. Where config policies
protect the environment, a rollback that would apply other configuration than the live one is
refused (exit 7): with --propose it becomes a draft of kind rollback, judged like any
configuration change; publishing it queues the rollback.`,
		Example: `  gatehouse rollback 12 -p shop -a web --wait
  gatehouse rollback 12 -p shop -a web --propose -m "1.3 leaks memory" --notify carol`,
		Args: exactArgs(1, "DEPLOYMENT-ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := prop.check(cmd); err != nil {
				return err
			}
			if prop.on {
				if wait {
					return gatehouse.Invalidf("--wait", "does not go with --propose: the rollback is queued when its draft is published")
				}
				return a.proposeRollback(cmd, &pl, args[0], &prop)
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			segs, err := pl.appPath("deployments", args[0], "rollback")
			if err != nil {
				return err
			}
			var d gatehouse.Deployment
			if err := c.Do(cmd.Context(), "POST", path(segs...), nil, nil, &d); err != nil {
				return err
			}
			return a.afterStart(cmd.Context(), c, &pl, &d, wait)
		},
	}
	cmd.Flags().BoolVarP(&wait, "wait", "w", false, "follow the deployment until it ends (exit 10 if it fails)")
	prop.bind(cmd)
	pl.bind(cmd, true)
	return cmd
}

// proposeRollback opens and proposes a draft of a rollback to a deployment, in the
// deployment's environment.
func (a *App) proposeRollback(cmd *cobra.Command, pl *place, id string, p *proposal) error {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n < 1 {
		return gatehouse.Invalidf("DEPLOYMENT-ID", "%q is not a deployment id: expected a number (see gatehouse history)", id)
	}
	segs, err := pl.appPath("deployments", id)
	if err != nil {
		return err
	}
	var d gatehouse.Deployment
	if err := a.call(cmd, "GET", segs, nil, nil, &d); err != nil {
		return err
	}
	ref := gatehouse.DraftRef{Kind: gatehouse.DraftRollback, Project: pl.project, App: pl.app, Environment: d.Environment}
	return a.propose(cmd, ref, func(string) (string, error) {
		return gatehouse.RenderSetting(map[string]int64{"deployment": n})
	}, p)
}
