package cli

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse"
)

// verdictLine is one policy's verdict on a line: whether it is met and what is missing.
func verdictLine(v gatehouse.Verdict) string {
	return strings.TrimSpace(fmt.Sprintf("Policy %s v%d: met=%v %s", v.Policy, v.Version, v.Met, strings.Join(v.Missing, "; ")))
}

func progressText(r *gatehouse.ApprovalRequest) string {
	var parts []string
	for _, v := range r.Verdicts {
		for _, rp := range v.Rules {
			parts = append(parts, fmt.Sprintf("%s %d/%d", rp.Rule, rp.Have, rp.Need))
		}
	}
	return strings.Join(parts, "; ")
}

func approvalRow(r *gatehouse.ApprovalRequest) []string {
	return []string{fmt.Sprint(r.ID), r.Project + "/" + r.App, r.Environment, r.Digest[:min(len(r.Digest), 19)], string(r.State),
		progressText(r), requesterText(r), when(r.CreatedAt)}
}

// requesterText is who asked: the account, and the person it counts as when that differs (a
// service account's token acts for the person who made it).
func requesterText(r *gatehouse.ApprovalRequest) string {
	if r.RequesterPerson != "" && r.RequesterPerson != r.Requester {
		return fmt.Sprintf("%s (%s)", r.Requester, r.RequesterPerson)
	}
	return r.Requester
}

var approvalHeader = []string{"id", "app", "env", "digest", "state", "progress", "requester", "created"}

func (a *App) approvalCmd() *cobra.Command {
	n := noun[gatehouse.ApprovalRequest]{a: a, name: "approval request", header: approvalHeader, row: approvalRow, base: fixed("approvals")}
	var pl place
	var in gatehouse.ApprovalCreate
	var digest, tag string
	var labels []string
	request := &cobra.Command{
		Use:     "request --env ENV (--digest DIGEST | --tag TAG)",
		Short:   "Ask for an image to be approved for a gated stage",
		Example: `  gatehouse approval request -p shop -a web --env prod --tag 1.4.0 --comment "fixes checkout" --notify bob --notify carol`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			if in.Digest, err = a.pickDigest(cmd.Context(), c, &pl, digest, tag); err != nil {
				return err
			}
			if in.Labels, err = parseLabels("--label", labels); err != nil {
				return err
			}
			segs, err := pl.appPath("approvals")
			if err != nil {
				return err
			}
			return n.send(cmd, "POST", segs, in)
		},
	}
	f := request.Flags()
	f.StringVarP(&in.Environment, "env", "e", "", "the gated environment")
	f.StringVar(&digest, "digest", "", "artifact digest (sha256:…)")
	f.StringVarP(&tag, "tag", "t", "", "artifact tag, resolved to its digest now (the approval binds the digest)")
	f.StringVarP(&in.Comment, "comment", "m", "", "why this image should go")
	f.StringArrayVar(&in.Notify, "notify", nil, "approver to notify (repeat; default: everyone who may approve)")
	f.StringArrayVarP(&labels, "label", "l", nil, "label KEY=VALUE (repeat)")
	pl.bind(request, true)

	var comment string
	decide := func(verb, short string) *cobra.Command {
		cmd := &cobra.Command{
			Use:   verb + " ID",
			Short: short,
			Args:  exactArgs(1, "ID"),
			RunE: func(cmd *cobra.Command, args []string) error {
				var body any = gatehouse.Decision{Comment: comment}
				if verb == "cancel" {
					body = nil
				}
				return n.send(cmd, "POST", []string{"approvals", args[0], verb}, body)
			},
		}
		if verb != "cancel" {
			cmd.Flags().StringVarP(&comment, "comment", "m", "", "comment (a reason is required to reject)")
		}
		return cmd
	}
	var f2 gatehouse.ApprovalFilter
	var mine bool
	list := n.list(func() url.Values {
		q := url.Values{}
		for k, v := range map[string]string{"project": f2.Project, "app": f2.App, "environment": f2.Environment, "state": string(f2.State)} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if mine {
			q.Set("mine", "true")
		}
		return q
	})
	list.Flags().StringVarP(&f2.Project, "project", "p", "", "only this project")
	list.Flags().StringVarP(&f2.App, "app", "a", "", "only this app")
	list.Flags().StringVarP(&f2.Environment, "env", "e", "", "only this environment")
	list.Flags().StringVar((*string)(&f2.State), "state", "", "only this state (pending, approved, consumed, …)")
	list.Flags().BoolVar(&mine, "mine", false, "only requests waiting for my vote")
	pending := &cobra.Command{
		Use:   "pending",
		Short: "List the requests waiting for my vote",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			mine = true
			return list.RunE(cmd, nil)
		},
	}
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a request: votes, policy progress, and what would change",
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var rv gatehouse.ApprovalReview
			if err := c.Do(cmd.Context(), "GET", path("approvals", args[0], "review"), nil, nil, &rv); err != nil {
				return err
			}
			if a.output == "json" {
				return a.render(rv, table{})
			}
			r := rv.Request
			fmt.Fprintf(a.Out, "Approval request %d: %s/%s → %s, %s\nImage: %s\nRequested by %s: %s\n", r.ID, r.Project, r.App, r.Environment, r.State, r.Image, requesterText(r), r.Comment)
			if r.Reason != "" {
				fmt.Fprintf(a.Out, "Reason: %s\n", r.Reason)
			}
			for _, v := range r.Verdicts {
				fmt.Fprintln(a.Out, verdictLine(v))
			}
			for _, v := range r.Votes {
				verb := "approved"
				if !v.Approve {
					verb = "rejected"
				}
				fmt.Fprintf(a.Out, "  %s %s via %s at %s %s\n", v.Voter, verb, v.Via, when(v.Time), v.Comment)
			}
			printDiff(a, &gatehouse.DeploymentDiff{From: orEmpty(rv.Previous), To: &gatehouse.Deployment{Environment: r.Environment, State: "candidate"}, Image: rv.ImageChange, Changes: rv.Changes})
			return nil
		},
	}
	get := n.get()
	get.Use = "get ID"
	return group("approval", "Request, decide and follow image approvals", request, list, pending, get, show,
		decide("approve", "Approve a request (as yourself, signed in with gatehouse login)"),
		decide("reject", "Reject a request (with a reason)"),
		decide("cancel", "Cancel your own request"))
}

func orEmpty(d *gatehouse.Deployment) *gatehouse.Deployment {
	if d == nil {
		return &gatehouse.Deployment{State: "nothing deployed yet"}
	}
	return d
}

func (a *App) webhookCmd() *cobra.Command {
	var pl place
	n := noun[gatehouse.Webhook]{a: a, name: "webhook", header: []string{"id", "name", "host", "format", "signed", "events"},
		row: func(w *gatehouse.Webhook) []string {
			return []string{fmt.Sprint(w.ID), w.Name, w.Host, w.Format, yesNo(w.Signed), strings.Join(w.Events, ",")}
		},
		base: func() ([]string, error) { return pl.projectPath("webhooks") }}
	var in struct {
		URL, Format, Secret string
		Events              []string
	}
	add := &cobra.Command{
		Use:   "add NAME --url URL",
		Short: "Send a project's approval events to a URL (JSON, or Slack-compatible)",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			segs, err := n.base()
			if err != nil {
				return err
			}
			body := gatehouse.WebhookCreate{Name: args[0], URL: gatehouse.OutgoingSecret(in.URL), Format: in.Format, Events: in.Events}
			if in.Secret != "" {
				body.Secret = gatehouse.OutgoingSecret(in.Secret)
			}
			return n.send(cmd, "POST", segs, body)
		},
	}
	add.Flags().StringVar(&in.URL, "url", "", "endpoint URL (stored encrypted)")
	add.Flags().StringVar(&in.Format, "format", "json", "json or slack")
	add.Flags().StringVar(&in.Secret, "secret", "", "signing secret (X-Gatehouse-Signature: sha256=HMAC of the body)")
	add.Flags().StringArrayVar(&in.Events, "event", nil, "event to send (repeat; default all approval events)")
	remove := n.del()
	remove.Use, remove.Short = "remove ID", "Remove a webhook"
	cmd := group("webhook", "Manage a project's webhooks", n.list(nil), add, remove)
	pl.bind(cmd, false)
	return cmd
}
