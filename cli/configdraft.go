package cli

import (
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse"
)

var draftHeader = []string{"id", "app", "env", "kind", "state", "version", "progress", "authors", "updated"}

func draftRow(d *gatehouse.Draft) []string {
	env := d.Environment
	if env == "" {
		env = "base"
	}
	return []string{fmt.Sprint(d.ID), d.Project + "/" + d.App, env, string(d.Kind), string(d.State), fmt.Sprint(d.Version),
		progressText(&gatehouse.ApprovalRequest{Verdicts: d.Verdicts}), strings.Join(d.Authors, ","), when(d.UpdatedAt)}
}

func draftNoun(a *App) noun[gatehouse.Draft] {
	return noun[gatehouse.Draft]{a: a, name: "config draft", header: draftHeader, row: draftRow, base: fixed("drafts")}
}

// draft fetches one draft.
func (a *App) draft(cmd *cobra.Command, id string) (*gatehouse.Draft, error) {
	var d gatehouse.Draft
	return &d, a.call(cmd, "GET", []string{"drafts", id}, nil, nil, &d)
}

// draftCmd is `config draft`: create, edit, show, list and comment on drafts.
func (a *App) draftCmd(n noun[gatehouse.Draft], t *configTarget, w *configWrite) *cobra.Command {
	create := &cobra.Command{
		Use:   "create [--env ENV] [--kind K] --file FILE",
		Short: "Open a draft of a protected configuration resource",
		Example: `  gatehouse config draft create -p shop -a web --env prod --kind configmap -f prod.yaml -m "debug logging"
  gatehouse config draft create -p shop -a web --env prod -f - < prod-values.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			segs, err := t.segs("drafts")
			if err != nil {
				return err
			}
			in, err := w.read(a)
			if err != nil {
				return err
			}
			return n.send(cmd, "POST", segs, in)
		},
	}
	t.bind(create)
	w.bind(create)
	var base int64
	edit := &cobra.Command{
		Use:   "edit DRAFT-ID --file FILE [--base-version N]",
		Short: "Add a version to a draft (approvals of the version before no longer count)",
		Long: `Add a version to a draft. --base-version is the version your edit starts from: when someone
else added a version since, the edit is refused (exit 6, "draft changed, reload") so that no edit
overwrites another. Without it, the draft's current version is fetched and used.`,
		Example: "  gatehouse config draft edit 12 -f prod.yaml --base-version 2 -m \"keep INFO for the api\"",
		Args:    exactArgs(1, "DRAFT-ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := w.read(a)
			if err != nil {
				return err
			}
			in.BaseVersion = base
			if !flagSet(cmd, "base-version") {
				d, err := a.draft(cmd, args[0])
				if err != nil {
					return err
				}
				in.BaseVersion = d.Version
			} else if base < 1 {
				return gatehouse.Invalidf("--base-version", "%d is not a version: expected 1 or more", base)
			}
			return n.send(cmd, "POST", []string{"drafts", args[0], "versions"}, in)
		},
	}
	w.bind(edit)
	edit.Flags().Int64Var(&base, "base-version", 0, "the draft version your edit starts from (default: its current version)")
	show := &cobra.Command{
		Use:     "show DRAFT-ID",
		Short:   "Show a draft: state, versions, policy progress, votes, comments and its diff against live",
		Example: "  gatehouse config draft show 12",
		Args:    exactArgs(1, "DRAFT-ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := a.draft(cmd, args[0])
			if err != nil {
				return err
			}
			if a.output == "json" {
				return a.render(d, table{})
			}
			printDraft(a.Out, d)
			return nil
		},
	}
	comment := &cobra.Command{
		Use:     "comment DRAFT-ID TEXT",
		Short:   "Add a remark to a draft",
		Example: `  gatehouse config draft comment 12 "does the api read LOG_LEVEL at start only?"`,
		Args:    exactArgs(2, "DRAFT-ID", "TEXT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return n.send(cmd, "POST", []string{"drafts", args[0], "comments"}, gatehouse.DraftNote{Text: args[1]})
		},
	}
	return group("draft", "Change protected configuration through drafts that config policies gate",
		create, edit, show, a.draftListCmd(n, t.pl), comment)
}

func (a *App) draftListCmd(n noun[gatehouse.Draft], pl *place) *cobra.Command {
	var f gatehouse.DraftFilter
	list := n.list(func() url.Values {
		q := url.Values{}
		for k, v := range map[string]string{"project": pl.project, "app": pl.app, "environment": f.Environment, "state": string(f.State)} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if f.ForMe {
			q.Set("mine", "true")
		}
		if f.Limit > 0 {
			q.Set("limit", strconv.Itoa(f.Limit))
		}
		return q
	})
	list.Short = "List config drafts, newest first"
	list.Example = `  gatehouse config draft list -p shop --state proposed
  gatehouse config draft list --mine`
	list.PreRunE = func(*cobra.Command, []string) error {
		if f.Limit < 0 || f.Limit > 1000 {
			return gatehouse.Invalidf("--limit", "%d is out of range: expected 1 to 1000", f.Limit)
		}
		return nil
	}
	list.Flags().StringVarP(&f.Environment, "env", "e", "", "only this environment")
	list.Flags().StringVar((*string)(&f.State), "state", "", "only this state (draft, proposed, approved, published, discarded)")
	list.Flags().BoolVar(&f.ForMe, "mine", false, "only proposed drafts waiting for my vote")
	list.Flags().IntVar(&f.Limit, "limit", 0, "how many (default 100)")
	return list
}

// draftFlowCmds are the steps of a draft's life: propose, approve, reject, publish, discard.
func (a *App) draftFlowCmds(n noun[gatehouse.Draft]) []*cobra.Command {
	step := func(verb, short, example string, body func() (any, error)) *cobra.Command {
		return &cobra.Command{
			Use:     verb + " DRAFT-ID",
			Short:   short,
			Example: example,
			Args:    exactArgs(1, "DRAFT-ID"),
			RunE: func(cmd *cobra.Command, args []string) error {
				in, err := body()
				if err != nil {
					return err
				}
				return n.send(cmd, "POST", []string{"drafts", args[0], verb}, in)
			},
		}
	}
	var prop gatehouse.DraftPropose
	propose := step("propose", "Ask for approval of a draft, notifying approvers",
		"  gatehouse config propose 12 --notify bob --notify carol -m \"debug logging for one day\"",
		func() (any, error) { return prop, nil })
	propose.Flags().StringArrayVar(&prop.Notify, "notify", nil, "approver to notify (repeat; default: everyone who may approve)")
	propose.Flags().StringVarP(&prop.Comment, "comment", "m", "", "what the change is for")
	var d gatehouse.Decision
	approve := step("approve", "Approve a draft's latest version (not if you wrote a version of it)",
		"  gatehouse config approve 12 --version 3 -m \"looks right\"", func() (any, error) { return d, nil })
	reject := step("reject", "Send a proposed draft back to its authors, saying why",
		"  gatehouse config reject 12 --version 3 -m \"LOG_LEVEL must stay INFO in prod\"", func() (any, error) {
			if strings.TrimSpace(d.Comment) == "" {
				return nil, gatehouse.Invalidf("--comment", "is required: a rejection says why")
			}
			return d, nil
		})
	for _, c := range []*cobra.Command{approve, reject} {
		c.Flags().Int64Var(&d.Version, "version", 0, "the draft version you reviewed (required: a vote counts for that version only)")
		c.PreRunE = func(cmd *cobra.Command, args []string) error {
			if d.Version < 1 {
				return gatehouse.Invalidf("--version", "is required: the draft version you reviewed (see gatehouse config draft show %s)", args[0])
			}
			return nil
		}
	}
	approve.Flags().StringVarP(&d.Comment, "comment", "m", "", "comment")
	reject.Flags().StringVarP(&d.Comment, "comment", "m", "", "why (required)")
	publish := step("publish", "Apply an approved draft to the live configuration",
		"  gatehouse config publish 12", func() (any, error) { return nil, nil })
	var note gatehouse.DraftNote
	discard := step("discard", "End an open draft without applying it",
		"  gatehouse config discard 12 --reason \"superseded by 14\"", func() (any, error) { return note, nil })
	discard.Flags().StringVar(&note.Reason, "reason", "", "why")
	return []*cobra.Command{propose, approve, reject, publish, discard}
}

// printDraft writes a draft for people: who and where, policies and votes, versions,
// comments, then its change against the live resource.
func printDraft(w io.Writer, d *gatehouse.Draft) {
	fmt.Fprintf(w, "Draft %d: %s, %s, version %d\nOpened by %s at %s; authors: %s\n",
		d.ID, d.DraftRef, d.State, d.Version, d.Author, when(d.CreatedAt), strings.Join(d.Authors, ", "))
	if d.Lockout {
		fmt.Fprintln(w, "Judged by the lock-out rule: nobody who could meet the policy's own rules is left")
	}
	if d.Reason != "" {
		fmt.Fprintf(w, "Reason: %s\n", d.Reason)
	}
	switch {
	case d.PublishedRevision != 0 && d.Kind == gatehouse.DraftRollback:
		fmt.Fprintf(w, "Published: the rollback is deployment %d\n", d.PublishedRevision)
	case d.PublishedRevision != 0:
		fmt.Fprintf(w, "Published as configuration revision %d\n", d.PublishedRevision)
	}
	if len(d.Notify) > 0 {
		fmt.Fprintf(w, "Notified: %s\n", strings.Join(d.Notify, ", "))
	}
	if len(d.Verdicts) == 0 {
		for _, p := range d.Policies {
			fmt.Fprintf(w, "Policy %s v%d\n", p.Name, p.Version)
		}
	}
	for _, v := range d.Verdicts {
		fmt.Fprintln(w, verdictLine(v))
	}
	if p := progressText(&gatehouse.ApprovalRequest{Verdicts: d.Verdicts}); p != "" {
		fmt.Fprintf(w, "Progress: %s\n", p)
	}
	section := func(title string, n int, line func(i int) string) {
		if n == 0 {
			return
		}
		fmt.Fprintln(w, title)
		for i := range n {
			fmt.Fprintln(w, "  "+line(i))
		}
	}
	section(fmt.Sprintf("Votes on version %d:", d.Version), len(d.Votes), func(i int) string {
		v, verb := d.Votes[i], "approved"
		if !v.Approve {
			verb = "rejected"
		}
		return strings.TrimSpace(fmt.Sprintf("%s %s via %s at %s %s", v.Voter, verb, v.Via, when(v.Time), v.Comment))
	})
	section("Versions:", len(d.Versions), func(i int) string {
		v := d.Versions[i]
		return strings.TrimSpace(fmt.Sprintf("v%d by %s at %s %s", v.Version, v.Author, when(v.Time), v.Comment))
	})
	section("Comments:", len(d.Comments), func(i int) string {
		c := d.Comments[i]
		return fmt.Sprintf("%s at %s: %s", c.Author, when(c.Time), c.Text)
	})
	fmt.Fprintln(w)
	printChange(w, d.Change, false)
}
