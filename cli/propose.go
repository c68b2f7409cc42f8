package cli

import (
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse"
)

// proposal is --propose with its --comment and --notify, on a command that changes a setting
// which policies may protect. Without --propose the command changes the setting directly, and
// where policies protect it the server refuses (exit 7) and says so; with it, the command
// opens a draft of the same change and proposes it to the people who must approve it.
type proposal struct {
	on bool
	in gatehouse.DraftPropose
}

func (p *proposal) bind(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVar(&p.on, "propose", false, "where policies protect this setting: open a draft of the change and propose it")
	f.StringVarP(&p.in.Comment, "comment", "m", "", "with --propose: what the change is for")
	f.StringArrayVar(&p.in.Notify, "notify", nil, "with --propose: approver to notify (repeat; default: everyone who may approve)")
}

// check refuses --comment and --notify without --propose: a direct change carries neither,
// and dropping them silently would hide that the change was not proposed.
func (p *proposal) check(cmd *cobra.Command) error {
	if p.on {
		return nil
	}
	for _, f := range []string{"comment", "notify"} {
		if flagSet(cmd, f) {
			return gatehouse.Invalidf("--"+f, "only goes with --propose: a direct change is not proposed to anyone")
		}
	}
	return nil
}

// only refuses, with --propose, the flags named that a draft of ref does not carry: they
// change something else, which is changed without --propose.
func (p *proposal) only(cmd *cobra.Command, ref gatehouse.DraftKind, others ...string) error {
	for _, f := range others {
		if p.on && flagSet(cmd, f) {
			return gatehouse.Invalidf("--"+f, "does not go with --propose: a draft of kind %s carries one setting; change --%s in a command without --propose", ref, f)
		}
	}
	return nil
}

// propose opens a draft of ref whose content is what is live now with edit applied, proposes
// it, and shows the draft: its id, its change and who must approve it. When proposing fails,
// the draft stays open, and the error says which it is.
func (a *App) propose(cmd *cobra.Command, ref gatehouse.DraftRef, edit func(live string) (string, error), p *proposal) error {
	live, err := a.live(cmd, ref)
	if err != nil {
		return err
	}
	content, err := edit(live.Content)
	if err != nil {
		return err
	}
	var d gatehouse.Draft
	// --comment goes with the proposal, where approvers read it: on the version too, it
	// would show twice.
	in := gatehouse.DraftCreate{DraftRef: ref, ConfigWrite: gatehouse.ConfigWrite{Content: content}}
	if err := a.call(cmd, "POST", []string{"drafts"}, nil, in, &d); err != nil {
		return err
	}
	id := strconv.FormatInt(d.ID, 10)
	if err := a.call(cmd, "POST", []string{"drafts", id, "propose"}, nil, p.in, &d); err != nil {
		return fmt.Errorf("draft %d of %s is open but not proposed (gatehouse draft propose %d, or discard %d): %w", d.ID, ref, d.ID, d.ID, err)
	}
	if a.output == "json" {
		return a.render(&d, table{})
	}
	printProposed(a.Out, &d)
	return nil
}

// printProposed writes what proposing opened: the draft, what it changes, who must approve
// it and how they vote.
func printProposed(w io.Writer, d *gatehouse.Draft) {
	fmt.Fprintf(w, "Draft %d proposed: %s, version %d\n", d.ID, d.DraftRef, d.Version)
	if d.State != gatehouse.DraftProposed {
		fmt.Fprintf(w, "It is %s already: votes on this version from before still count\n", d.State)
	}
	printDraftChange(w, d)
	if ch := d.Change; ch != nil {
		for _, c := range ch.Changes {
			fmt.Fprintln(w, c.String())
		}
	}
	fmt.Fprintln(w, "Who must approve:")
	printJudges(w, d, "  ")
	fmt.Fprintf(w, "They vote with: gatehouse draft approve %d --version %d; once approved: gatehouse draft publish %d\n", d.ID, d.Version, d.ID)
}
