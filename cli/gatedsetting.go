package cli

import (
	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse"
)

// gatedSetting is a named setting read from a file (a policy, a window) whose loosening goes
// through a draft of its kind: created at once, replaced or deleted at once where nothing
// protects the change, else refused (exit 7), or with --propose opened as a draft.
type gatedSetting[T, S any] struct {
	n   noun[T]
	ref func(name string) gatehouse.DraftRef
}

// file binds --file and returns a reader of the setting it names.
func (g gatedSetting[T, S]) file(cmd *cobra.Command) func() (S, error) {
	var file string
	cmd.Flags().StringVarP(&file, "file", "f", "", g.n.name+" file, YAML or JSON ('-' for stdin)")
	return func() (S, error) {
		var spec S
		if file == "" {
			return spec, gatehouse.Invalidf("--file", "is required: expected a %s in YAML or JSON", g.n.name)
		}
		text, err := g.n.a.readFileFlag("file", file)
		if err != nil {
			return spec, err
		}
		// The setting's own reader: the same field names as the API and the drafts.
		return spec, gatehouse.ParseSetting("--file", text, &spec)
	}
}

// create is "create --file FILE".
func (g gatedSetting[T, S]) create(short, long string) *cobra.Command {
	cmd := &cobra.Command{Use: "create --file FILE", Short: short, Long: long, Args: cobra.NoArgs}
	read := g.file(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		spec, err := read()
		if err != nil {
			return err
		}
		segs, err := g.n.base()
		if err != nil {
			return err
		}
		return g.n.send(cmd, "POST", segs, spec)
	}
	return cmd
}

// update is "update NAME --file FILE [--propose]".
func (g gatedSetting[T, S]) update(short, long, example string) *cobra.Command {
	var prop proposal
	cmd := &cobra.Command{Use: "update NAME --file FILE", Short: short, Long: long, Example: example, Args: exactArgs(1, "NAME")}
	read := g.file(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := prop.check(cmd); err != nil {
			return err
		}
		spec, err := read()
		if err != nil {
			return err
		}
		if prop.on {
			return g.n.a.propose(cmd, g.ref(args[0]), func(string) (string, error) { return gatehouse.RenderSetting(spec) }, &prop)
		}
		segs, err := g.n.at(args[0])
		if err != nil {
			return err
		}
		return g.n.send(cmd, "PUT", segs, spec)
	}
	prop.bind(cmd)
	return cmd
}

// del is "delete NAME [--propose]": --propose opens the draft that deletes it (empty content).
func (g gatedSetting[T, S]) del(short, example string) *cobra.Command {
	var prop proposal
	cmd := g.n.del()
	direct := cmd.RunE
	cmd.Short, cmd.Example = short, example
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := prop.check(cmd); err != nil {
			return err
		}
		if !prop.on {
			return direct(cmd, args)
		}
		return g.n.a.propose(cmd, g.ref(args[0]), func(string) (string, error) { return "", nil }, &prop)
	}
	prop.bind(cmd)
	return cmd
}
