package cli

import (
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse"
)

// configTarget names one configuration resource by flags: -p/-a (the command group's place),
// --env (none: the app's base values) and --kind.
type configTarget struct {
	pl   *place
	env  string
	kind string
}

func (t *configTarget) bind(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&t.env, "env", "e", "", "environment (default: the app's base values)")
	cmd.Flags().StringVarP(&t.kind, "kind", "k", string(gatehouse.ConfigValues), "resource: values, configmap or secrets")
}

// ref names the resource as a draft's subject; errors name the flag at fault.
func (t *configTarget) ref() (gatehouse.DraftRef, error) {
	kind := gatehouse.ConfigKind(t.kind)
	if !slices.Contains(gatehouse.ConfigKinds, kind) {
		return gatehouse.DraftRef{}, gatehouse.Invalidf("--kind", "%q is not a configuration resource: expected values, configmap or secrets", t.kind)
	}
	if t.env == "" && kind != gatehouse.ConfigValues {
		return gatehouse.DraftRef{}, gatehouse.Invalidf("--env", "is required for --kind %s: a %s belongs to an environment", kind, kind)
	}
	if _, err := t.pl.appPath(); err != nil {
		return gatehouse.DraftRef{}, err
	}
	return gatehouse.ConfigRef{Project: t.pl.project, App: t.pl.app, Environment: t.env, Kind: kind}.Draft(), nil
}

// segs is the resource's path, …/config/values for the base values or
// …/environments/ENV/config/KIND.
func (t *configTarget) segs() ([]string, error) {
	ref, err := t.ref()
	if err != nil {
		return nil, err
	}
	if ref.Environment == "" {
		return t.pl.appPath("config", "values")
	}
	return t.pl.appPath("environments", ref.Environment, "config", string(ref.Kind))
}

// configWrite is new content from --file, with --comment.
type configWrite struct {
	file string
	in   gatehouse.ConfigWrite
}

func (w *configWrite) bind(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&w.file, "file", "f", "", "the new content, YAML ('-' for stdin)")
	cmd.Flags().StringVarP(&w.in.Comment, "comment", "m", "", "why the change")
}

// read returns the write with the file's content.
func (w *configWrite) read(a *App) (gatehouse.ConfigWrite, error) {
	if w.file == "" {
		return w.in, gatehouse.Invalidf("--file", "is required: expected the new content, YAML ('-' for stdin)")
	}
	text, err := a.readFileFlag("file", w.file)
	w.in.Content = text
	return w.in, err
}

// call sends one request and decodes its answer into out.
func (a *App) call(cmd *cobra.Command, method string, segs []string, q url.Values, in, out any) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	return c.Do(cmd.Context(), method, path(segs...), q, in, out)
}

func (a *App) configCmd() *cobra.Command {
	var pl place
	t := &configTarget{pl: &pl}
	var w configWrite
	get := &cobra.Command{
		Use:   "get [--env ENV] [--kind values|configmap|secrets]",
		Short: "Print a configuration resource as it is live (secret values masked)",
		Example: `  gatehouse config get -p shop -a web                        # the app's base values
  gatehouse config get -p shop -a web --env prod --kind configmap
  gatehouse config get -p shop -a web --env prod --kind secrets -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			segs, err := t.segs()
			if err != nil {
				return err
			}
			var cfg gatehouse.Config
			if err := a.call(cmd, "GET", segs, nil, nil, &cfg); err != nil {
				return err
			}
			if a.output == "json" {
				return a.render(cfg, table{})
			}
			_, err = io.WriteString(a.Out, withNewline(cfg.Content))
			return err
		},
	}
	t.bind(get)
	set := &cobra.Command{
		Use:   "set [--env ENV] [--kind K] --file FILE",
		Short: "Replace an unprotected configuration resource (a protected one changes through a draft)",
		Long: `Replace a configuration resource's content. Values are Helm values YAML; a configmap or secrets
is a YAML mapping of setting names to text, where a secret given as ••• keeps its value.
An environment that a config policy protects refuses this (exit 7): use gatehouse config draft.`,
		Example: `  gatehouse config set -p shop -a web -f values.yaml -m "two replicas"
  gatehouse config set -p shop -a web --env dev --kind secrets -f - <<<'DB_PASSWORD: s3cret'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			segs, err := t.segs()
			if err != nil {
				return err
			}
			in, err := w.read(a)
			if err != nil {
				return err
			}
			var cfg gatehouse.Config
			if err := a.call(cmd, "PUT", segs, nil, in, &cfg); err != nil {
				return err
			}
			return a.say(cfg, "Set %s: configuration revision %d.", cfg.DraftRef, cfg.Revision)
		},
	}
	t.bind(set)
	w.bind(set)
	compare := &cobra.Command{
		Use:     "compare FROM-ENV TO-ENV",
		Short:   "Compare two environments' effective configuration (values with the base, configmap, secret keys)",
		Example: "  gatehouse config compare stage prod -p shop -a web",
		Args:    exactArgs(2, "FROM-ENV", "TO-ENV"),
		RunE: func(cmd *cobra.Command, args []string) error {
			segs, err := pl.appPath("config-compare")
			if err != nil {
				return err
			}
			var ch gatehouse.ConfigChange
			if err := a.call(cmd, "GET", segs, url.Values{"from": {args[0]}, "to": {args[1]}}, nil, &ch); err != nil {
				return err
			}
			return a.showChange(&ch, false)
		},
	}
	var side bool
	diff := &cobra.Command{
		Use:   "diff DRAFT-ID [--side-by-side]",
		Short: "Show what a draft changes against the live configuration",
		Example: `  gatehouse config diff 12
  gatehouse config diff 12 --side-by-side`,
		Args: exactArgs(1, "DRAFT-ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var d gatehouse.Draft
			if err := a.call(cmd, "GET", []string{"drafts", args[0]}, nil, nil, &d); err != nil {
				return err
			}
			return a.showChange(d.Change, side)
		},
	}
	diff.Flags().BoolVar(&side, "side-by-side", false, "show live and draft in two columns")
	ds := newDrafts(a, &pl, "gatehouse config draft", "gatehouse config")
	create := ds.create("create [--env ENV] [--kind K] --file FILE", "Open a draft of a protected configuration resource",
		`  gatehouse config draft create -p shop -a web --env prod --kind configmap -f prod.yaml -m "debug logging"
  gatehouse config draft create -p shop -a web --env prod -f - < prod-values.yaml`, t.bind, t.ref)
	drafts := group("draft", "Change protected configuration through drafts that config policies gate",
		create, ds.edit(), ds.show(), ds.list(), ds.comment())
	cmd := group("config", "Read and change apps' configuration: values, configmaps and secrets, through drafts where protected",
		get, set, drafts, diff, compare)
	cmd.AddCommand(ds.flow()...)
	cmd.Example = `  gatehouse config get -p shop -a web --env prod --kind configmap > prod.yaml
  gatehouse config draft create -p shop -a web --env prod --kind configmap -f prod.yaml -m "debug logging"
  gatehouse config propose 12 --notify carol
  gatehouse config approve 12 --version 1   # as carol, for the version she reviewed
  gatehouse config publish 12`
	pl.bind(cmd, true)
	return cmd
}

// showChange prints a configuration change for people, or it as JSON.
func (a *App) showChange(ch *gatehouse.ConfigChange, side bool) error {
	if ch == nil {
		ch = &gatehouse.ConfigChange{}
	}
	if a.output == "json" {
		return a.render(ch, table{})
	}
	printChange(a.Out, ch, side)
	return nil
}

// printChange prints a change's risk labels, its changes path by path, then its lines, unified
// or side by side.
func printChange(w io.Writer, ch *gatehouse.ConfigChange, side bool) {
	if ch != nil && ch.SecretsByKey {
		fmt.Fprintln(w, "# "+gatehouse.SecretsByKeyNote)
	}
	if ch == nil || len(ch.Changes) == 0 && ch.Unified == "" {
		fmt.Fprintln(w, "(no differences)")
		return
	}
	if len(ch.Labels) > 0 {
		fmt.Fprintf(w, "Risk: %s\n", strings.Join(ch.Labels, ", "))
	}
	for _, c := range ch.Changes {
		fmt.Fprintln(w, c.String())
	}
	fmt.Fprintln(w)
	if side {
		printSideBySide(w, ch)
		return
	}
	fmt.Fprint(w, withNewline(ch.Unified))
}

// sideMarks marks a side-by-side row's op between the columns, as sdiff does.
var sideMarks = map[string]string{"equal": " ", "delete": "<", "insert": ">", "change": "|"}

// printSideBySide prints the rows in two numbered columns, the left one padded to its widest
// line (at most 60 characters).
func printSideBySide(w io.Writer, ch *gatehouse.ConfigChange) {
	width := utf8.RuneCountInString(ch.From)
	for _, r := range ch.SideBySide {
		width = max(width, utf8.RuneCountInString(r.Left))
	}
	width = min(width, 60)
	pad := func(s string) string { return s + strings.Repeat(" ", max(width-utf8.RuneCountInString(s), 0)) }
	num := func(n int) string {
		if n == 0 {
			return "    "
		}
		return fmt.Sprintf("%4d", n)
	}
	fmt.Fprintf(w, "     %s   %s\n", pad(ch.From), ch.To)
	for _, r := range ch.SideBySide {
		mark, ok := sideMarks[r.Op]
		if !ok {
			mark = "?"
		}
		fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("%s %s %s %s %s", num(r.LeftNo), pad(r.Left), mark, num(r.RightNo), r.Right), " "))
	}
}

// withNewline ends non-empty text with a newline.
func withNewline(s string) string {
	if s != "" && !strings.HasSuffix(s, "\n") {
		return s + "\n"
	}
	return s
}
