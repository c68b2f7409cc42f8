// Package cli is Gatehouse's command-line client: one file per noun, every command a call of
// the REST API. Output is a table for people or JSON (-o json) for scripts; the exit code says
// what kind of error happened (see ExitCode).
package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/client"
	"github.com/gatehousehq/gatehouse/internal/flagenv"
)

// App holds the CLI's streams and global settings.
type App struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer

	output     string
	server     string
	token      string
	configPath string
	stdin      *bufio.Reader
}

// NewRoot returns the root command with every client command, plus extra commands (the
// server's, which cmd/gatehouse wires).
func NewRoot(a *App, extra ...*cobra.Command) *cobra.Command {
	root := &cobra.Command{
		Use:           "gatehouse",
		Short:         "Approval-gated continuous delivery for Kubernetes",
		Long:          "Gatehouse moves container images through dev → stage → prod, and nothing reaches a protected\nenvironment without the approvals its policy demands, recorded in a tamper-evident audit trail.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(a.In)
	root.SetOut(a.Out)
	root.SetErr(a.Err)
	pf := root.PersistentFlags()
	pf.StringVarP(&a.output, "output", "o", "table", "output format: table or json")
	pf.StringVar(&a.server, "server", "", "Gatehouse server URL (default: the one 'gatehouse login' saved)")
	pf.StringVar(&a.token, "token", "", "API token (default: the one 'gatehouse login' saved)")
	pf.StringVar(&a.configPath, "cli-config", "", "CLI config file (default: $XDG_CONFIG_HOME/gatehouse/cli.json)")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if err := flagenv.Apply(cmd.Flags(), nil); err != nil {
			return gatehouse.Invalidf("flags", "%v", err)
		}
		if a.output != "table" && a.output != "json" {
			return gatehouse.Invalidf("--output", "%q is not a format: expected table or json", a.output)
		}
		return nil
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return gatehouse.Invalidf("flags", "%v", err) })
	root.AddCommand(a.loginCmd(), a.logoutCmd(), a.whoamiCmd(), a.passwdCmd(), a.projectCmd(), a.clusterCmd(), a.envCmd(),
		a.appCmd(), a.pipelineCmd(), a.artifactCmd(), a.deployCmd(), a.rollbackCmd(), a.historyCmd(), a.deploymentCmd(), a.approvalCmd(), a.policyCmd(), a.windowCmd(), a.reviewCmd(), a.configCmd(), a.draftCmd(), a.webhookCmd(), a.userCmd(), a.groupCmd(), a.accessCmd(), a.tokenCmd(), a.auditCmd(), a.metricsCmd(), a.attestationCmd())
	root.AddCommand(extra...)
	var annotate func(c *cobra.Command)
	annotate = func(c *cobra.Command) {
		flagenv.Annotate(c.LocalNonPersistentFlags())
		flagenv.Annotate(c.PersistentFlags())
		for _, sub := range c.Commands() {
			annotate(sub)
		}
	}
	annotate(root)
	return root
}

// exitCodes is the one table from error kinds to exit codes.
var exitCodes = map[gatehouse.ErrorKind]int{
	gatehouse.KindInternal:           1,
	gatehouse.KindInvalid:            2,
	gatehouse.KindUnauthenticated:    3,
	gatehouse.KindForbidden:          4,
	gatehouse.KindNotFound:           5,
	gatehouse.KindConflict:           6,
	gatehouse.KindPreconditionFailed: 7,
	gatehouse.KindRateLimited:        8,
	gatehouse.KindUnavailable:        11,
}

// ExitCode maps an error to the process exit code: 0 for nil, then by kind (1 internal or
// unknown, 2 invalid input, 3 unauthenticated, 4 forbidden, 5 not found, 6 conflict,
// 7 precondition failed, 8 rate limited, 9 audit trail broken, 10 deployment failed, 11 a service
// Gatehouse relies on is unavailable, 12 an attestation that does not hold).
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var broken *ChainBroken
	if errors.As(err, &broken) {
		return 9
	}
	var failed *DeploymentFailed
	if errors.As(err, &failed) {
		return 10
	}
	var refused *AttestationRefused
	if errors.As(err, &refused) {
		return 12
	}
	if code, ok := exitCodes[gatehouse.KindOf(err)]; ok {
		return code
	}
	return 1
}

// Report writes err for people: the message, and the request id to quote to an operator.
func Report(w io.Writer, err error) {
	fmt.Fprintf(w, "error: %v\n", err)
	var re *client.RequestError
	if errors.As(err, &re) && re.RequestID != "" && re.Err.Kind == gatehouse.KindInternal {
		fmt.Fprintf(w, "request id: %s\n", re.RequestID)
	}
}

// table is tabular output: a header and rows.
type table struct {
	header []string
	rows   [][]string
}

// rowsOf builds a table from a list with a row function.
func rowsOf[T any](xs []T, header []string, row func(T) []string) table {
	t := table{header: header}
	for _, x := range xs {
		t.rows = append(t.rows, row(x))
	}
	return t
}

// render prints v as indented JSON with -o json, else the table.
func (a *App) render(v any, t table) error {
	if a.output == "json" {
		enc := json.NewEncoder(a.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(a.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(t.header, "\t")))
	for _, r := range t.rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// say prints a confirmation for people, or v as JSON for scripts.
func (a *App) say(v any, format string, args ...any) error {
	if a.output == "json" {
		return a.render(v, table{})
	}
	_, err := fmt.Fprintf(a.Out, format+"\n", args...)
	return err
}

// path joins escaped path segments under /api/v1.
func path(segments ...string) string {
	var b strings.Builder
	b.WriteString("/api/v1")
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}
