package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse"
)

// ChainBroken is the error of `audit verify` when the trail was tampered with; it exits 9.
type ChainBroken struct{ Break gatehouse.AuditBreak }

func (e *ChainBroken) Error() string {
	if e.Break.Seq == 0 { // an event waiting to be chained: it has no place in the chain yet
		return "audit trail broken: " + e.Break.Reason
	}
	return fmt.Sprintf("audit trail broken at event %d: %s", e.Break.Seq, e.Break.Reason)
}

func (a *App) auditCmd() *cobra.Command {
	var checkpointFile string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the audit hash chain; exits 9 and names the first broken event if it was tampered with",
		Long: `Walk the audit hash chain from the first event to the sealed head, and report the events
committed but not chained yet (how many, and the age of the oldest: how far behind the
sequencer is); a queued event whose seal does not match is reported broken. With --checkpoint, also
prove that the trail still holds a checkpoint made by 'gatehouse audit checkpoint': a trail cut
below it or a history rewritten up to it is reported broken (exit 9), even by someone who holds
the audit key; a checkpoint that was edited is refused (exit 2).`,
		Example: "  gatehouse audit verify --checkpoint checkpoint-2026-11-27.json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var in any // no body: the chain alone
			if checkpointFile != "" {
				cp, err := a.readCheckpoint(checkpointFile)
				if err != nil {
					return err
				}
				in = &gatehouse.AuditVerify{Checkpoint: cp}
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			var rep gatehouse.AuditReport
			if err := c.Do(cmd.Context(), "POST", path("audit", "verify"), nil, in, &rep); err != nil {
				return err
			}
			if a.output == "json" {
				if err := a.render(rep, table{}); err != nil {
					return err
				}
			} else if rep.OK {
				fmt.Fprintf(a.Out, "Audit trail intact: %d events, head %d %s\n", rep.Events, rep.HeadSeq, rep.HeadHash)
				if cp := rep.Checkpoint; cp != nil {
					fmt.Fprintf(a.Out, "It holds the checkpoint of %s (event %d).\n", cp.Time.Format(time.RFC3339), cp.Seq)
				}
				if rep.Pending > 0 {
					fmt.Fprintf(a.Out, "Waiting to be chained: %d events, the oldest for %s (the sequencer is behind).\n",
						rep.Pending, (time.Duration(rep.PendingAgeSeconds * float64(time.Second))).Round(time.Millisecond))
				}
			}
			if !rep.OK {
				return &ChainBroken{Break: *rep.Broken}
			}
			return nil
		},
	}
	verify.Flags().StringVar(&checkpointFile, "checkpoint", "", `a checkpoint file ("-" for stdin) the trail must still hold`)
	var since, until, actor, project, app, env, action, file string
	export := &cobra.Command{
		Use:     "export",
		Short:   "Write audit events as JSON lines, filtered",
		Example: "  gatehouse audit export --project shop --since 2026-11-01T00:00:00Z --file shop-audit.jsonl",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			q := url.Values{"format": {"jsonl"}}
			for k, v := range map[string]string{"since": since, "until": until, "actor": actor, "project": project, "app": app, "environment": env, "action": action} {
				if v != "" {
					q.Set(k, v)
				}
			}
			body, err := c.Stream(cmd.Context(), path("audit"), q)
			if err != nil {
				return err
			}
			defer body.Close()
			out := a.Out
			if file != "" {
				f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
				if err != nil {
					return gatehouse.Invalidf("--file", "cannot write %s: %v", file, err)
				}
				defer f.Close()
				out = f
			}
			if _, err := io.Copy(out, body); err != nil {
				return fmt.Errorf("export interrupted: %w", err)
			}
			return nil
		},
	}
	f := export.Flags()
	f.StringVar(&since, "since", "", "from this time (RFC 3339)")
	f.StringVar(&until, "until", "", "before this time (RFC 3339)")
	f.StringVar(&actor, "actor", "", "only this actor")
	f.StringVar(&project, "project", "", "only this project")
	f.StringVar(&app, "app", "", "only this app")
	f.StringVar(&env, "env", "", "only this environment")
	f.StringVar(&action, "action", "", `only this action, or a prefix ending in "." (e.g. "artifact.")`)
	f.StringVar(&file, "file", "", "write to this file instead of stdout")
	return group("audit", "Verify, checkpoint and export the audit trail", verify, a.auditCheckpointCmd(), export)
}

func (a *App) auditCheckpointCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "checkpoint",
		Short: "Sign the audit chain's head, to keep outside the database",
		Long: `Record an audit.checkpoint event and print the chain's head after it, signed with the
audit key: {seq, hash, time, mac} as JSON, on stdout (or in --file), with a line for people
on stderr. Keep it where whoever can write the database cannot (a ticket, a write-once
bucket); 'gatehouse audit verify --checkpoint FILE' then proves the trail still holds it.
Refused (exit 7) when the chain does not verify.`,
		Example: "  gatehouse audit checkpoint --file checkpoint-$(date +%F).json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var cp gatehouse.AuditCheckpoint
			if err := c.Do(cmd.Context(), "POST", path("audit", "checkpoint"), nil, nil, &cp); err != nil {
				return err
			}
			b, err := json.MarshalIndent(cp, "", "  ")
			if err != nil {
				return err
			}
			b = append(b, '\n')
			out, human := a.Out, a.Err
			if file != "" {
				// Never over an older checkpoint: each one is evidence.
				if err := writeNew(file, b); err != nil {
					return gatehouse.Invalidf("--file", "cannot write %s: %v", file, err)
				}
				out, human = nil, a.Out
			}
			if a.output == "json" {
				out, human = a.Out, nil
			}
			if out != nil {
				if _, err := out.Write(b); err != nil {
					return err
				}
			}
			if human != nil {
				fmt.Fprintf(human, "Checkpoint of the audit trail at event %d (hash %s), %s: keep it apart from the database.\n",
					cp.Seq, cp.Hash, cp.Time.Format(time.RFC3339))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "write the checkpoint to this new file instead of stdout")
	return cmd
}

// readCheckpoint reads a checkpoint file ("-" for stdin) as 'audit checkpoint' wrote it.
func (a *App) readCheckpoint(file string) (*gatehouse.AuditCheckpoint, error) {
	text, err := a.readFileFlag("checkpoint", file)
	if err != nil {
		return nil, err
	}
	var cp gatehouse.AuditCheckpoint
	d := json.NewDecoder(strings.NewReader(text))
	d.DisallowUnknownFields()
	if err := d.Decode(&cp); err != nil {
		return nil, gatehouse.Invalidf("--checkpoint", "%s is not a checkpoint: expected the JSON that gatehouse audit checkpoint printed (%v)", file, err)
	}
	return &cp, nil
}

// writeNew writes a file that must not exist yet, readable by its owner only.
func writeNew(file string, b []byte) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
