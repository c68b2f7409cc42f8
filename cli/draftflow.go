package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse"
)

// flow is the steps of a draft's life: propose, approve, reject, publish, discard.
func (ds drafts) flow() []*cobra.Command {
	step := func(verb, short, example string, body func() (any, error)) *cobra.Command {
		return &cobra.Command{
			Use:     verb + " DRAFT-ID",
			Short:   short,
			Example: "  " + ds.steps + " " + example,
			Args:    exactArgs(1, "DRAFT-ID"),
			RunE: func(cmd *cobra.Command, args []string) error {
				in, err := body()
				if err != nil {
					return err
				}
				return ds.n.send(cmd, "POST", []string{"drafts", args[0], verb}, in)
			},
		}
	}
	var prop gatehouse.DraftPropose
	propose := step("propose", "Ask for approval of a draft, notifying approvers",
		`propose 12 --notify bob --notify carol -m "debug logging for one day"`, func() (any, error) { return prop, nil })
	propose.Flags().StringArrayVar(&prop.Notify, "notify", nil, "approver to notify (repeat; default: everyone who may approve)")
	propose.Flags().StringVarP(&prop.Comment, "comment", "m", "", "what the change is for")
	var d gatehouse.Decision
	approve := step("approve", "Approve the version of a draft you reviewed (not if you wrote a version of it)",
		`approve 12 --version 3 -m "looks right"`, func() (any, error) { return d, nil })
	reject := step("reject", "Send a proposed draft back to its authors, saying why",
		`reject 12 --version 3 -m "LOG_LEVEL must stay INFO in prod"`, func() (any, error) {
			if strings.TrimSpace(d.Comment) == "" {
				return nil, gatehouse.Invalidf("--comment", "is required: a rejection says why")
			}
			return d, nil
		})
	for _, c := range []*cobra.Command{approve, reject} {
		c.Flags().Int64Var(&d.Version, "version", 0, "the draft version you reviewed (required: a vote counts for that version only)")
		c.PreRunE = func(cmd *cobra.Command, args []string) error {
			if d.Version < 1 {
				return gatehouse.Invalidf("--version", "is required: the draft version you reviewed (see %s show %s)", ds.group, args[0])
			}
			return nil
		}
	}
	approve.Flags().StringVarP(&d.Comment, "comment", "m", "", "comment")
	reject.Flags().StringVarP(&d.Comment, "comment", "m", "", "why (required)")
	publish := step("publish", "Apply an approved draft: its change becomes live",
		"publish 12", func() (any, error) { return nil, nil })
	var note gatehouse.DraftNote
	discard := step("discard", "End an open draft without applying it",
		`discard 12 --reason "superseded by 14"`, func() (any, error) { return note, nil })
	discard.Flags().StringVar(&note.Reason, "reason", "", "why")
	return []*cobra.Command{propose, approve, reject, publish, discard}
}

// printDraft writes a draft for people: what it changes and the version votes name first,
// then policies and votes, versions, comments, and its change against the live subject.
// steps is the command path of the draft's steps, for the hint of how to vote.
func printDraft(w io.Writer, d *gatehouse.Draft, steps string) {
	fmt.Fprintf(w, "Draft %d: %s\nKind %s, %s, version %d\n", d.ID, d.DraftRef, d.Kind, d.State, d.Version)
	if gatehouse.FlowDraft.Votable(d.State) {
		fmt.Fprintf(w, "A vote names the version it is for: %s approve %d --version %d\n", steps, d.ID, d.Version)
	}
	fmt.Fprintf(w, "Opened by %s at %s; authors: %s\n", d.Author, when(d.CreatedAt), strings.Join(d.Authors, ", "))
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
	printJudges(w, d, "")
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
		by := v.Author
		if v.Person != "" && v.Person != v.Author {
			by = fmt.Sprintf("%s (%s)", v.Author, v.Person)
		}
		return strings.TrimSpace(fmt.Sprintf("v%d by %s at %s %s", v.Version, by, when(v.Time), v.Comment))
	})
	section("Comments:", len(d.Comments), func(i int) string {
		c := d.Comments[i]
		return fmt.Sprintf("%s at %s: %s", c.Author, when(c.Time), c.Text)
	})
	fmt.Fprintln(w)
	printDraftChange(w, d)
	printChange(w, withoutLabels(d), false)
}

// printJudges writes who must approve a draft: each policy's verdict (or, before it is
// judged, the policies), and who was notified; each line after indent.
func printJudges(w io.Writer, d *gatehouse.Draft, indent string) {
	if len(d.Verdicts) == 0 {
		for _, p := range d.Policies {
			fmt.Fprintf(w, "%sPolicy %s v%d\n", indent, p.Name, p.Version)
		}
	}
	for _, v := range d.Verdicts {
		fmt.Fprintln(w, indent+verdictLine(v))
	}
	if len(d.Notify) > 0 {
		fmt.Fprintf(w, "%sNotified: %s\n", indent, strings.Join(d.Notify, ", "))
	}
}

// printDraftChange writes the labels of a draft's change. A policy draft's labels are the
// ways it loosens the policy, one a line: they are what its approvers judge.
func printDraftChange(w io.Writer, d *gatehouse.Draft) {
	if d.Change == nil || len(d.Change.Labels) == 0 {
		return
	}
	if d.Kind != gatehouse.DraftPolicy {
		fmt.Fprintf(w, "Risk: %s\n", strings.Join(d.Change.Labels, ", "))
		return
	}
	fmt.Fprintln(w, "Loosens the policy:")
	for _, l := range d.Change.Labels {
		fmt.Fprintf(w, "  - %s\n", l)
	}
}

// withoutLabels is a draft's change with its labels left out (printDraftChange wrote them).
func withoutLabels(d *gatehouse.Draft) *gatehouse.ConfigChange {
	if d.Change == nil {
		return nil
	}
	ch := *d.Change
	ch.Labels = nil
	return &ch
}
