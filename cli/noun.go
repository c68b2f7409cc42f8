package cli

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/httpapi"
)

// noun is a kind of resource with a collection path and a table view; its methods build the
// commands every noun has, so each noun's file holds only what is its own.
type noun[T any] struct {
	a      *App
	name   string                   // "project"
	header []string                 // table columns
	row    func(*T) []string        // one table row
	base   func() ([]string, error) // collection path segments, e.g. projects/shop/apps
}

// send calls the API and renders the single resource it answers.
func (n noun[T]) send(cmd *cobra.Command, method string, segs []string, in any) error {
	c, err := n.a.client()
	if err != nil {
		return err
	}
	var out T
	if err := c.Do(cmd.Context(), method, path(segs...), nil, in, &out); err != nil {
		return err
	}
	return n.a.render(&out, rowsOf([]*T{&out}, n.header, n.row))
}

// at returns the path of one member of the collection.
func (n noun[T]) at(name string) ([]string, error) {
	b, err := n.base()
	return append(b, name), err
}

// listPage is the most a list's page holds (the API's largest limit).
const listPage = 1000

// list makes the list command: query gives the filter, and a "limit" in it is how many items
// to list, read page by page. A --cursor flag starts where a list before stopped.
func (n noun[T]) list(query func() url.Values) *cobra.Command {
	var cursor string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List " + n.name + "s",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			segs, err := n.base()
			if err != nil {
				return err
			}
			c, err := n.a.client()
			if err != nil {
				return err
			}
			q := url.Values{}
			if query != nil {
				q = query()
			}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			// Up to --limit items, page after page: a page holds at most listPage, and one
			// may hold fewer than it was asked for (what the caller may not vote on).
			want, _ := strconv.Atoi(q.Get("limit"))
			var all []*T
			for {
				if want > 0 {
					q.Set("limit", strconv.Itoa(min(want-len(all), listPage)))
				}
				var out httpapi.List[*T]
				next, err := c.Page(cmd.Context(), path(segs...), q, &out)
				if err != nil {
					return err
				}
				all = append(all, out.Items...)
				if next == "" {
					break
				}
				if want == 0 || len(all) >= want {
					fmt.Fprintf(n.a.Err, "More: add --cursor %s\n", next)
					break
				}
				q.Set("cursor", next)
			}
			if all == nil {
				all = []*T{}
			}
			return n.a.render(all, rowsOf(all, n.header, n.row))
		},
	}
	cmd.Flags().StringVar(&cursor, "cursor", "", "start where a list before stopped (the cursor it named)")
	return cmd
}

func (n noun[T]) get() *cobra.Command {
	return &cobra.Command{
		Use:   "get NAME",
		Short: "Show one " + n.name,
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			segs, err := n.at(args[0])
			if err != nil {
				return err
			}
			return n.send(cmd, "GET", segs, nil)
		},
	}
}

func (n noun[T]) del() *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a " + n.name,
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			segs, err := n.at(args[0])
			if err != nil {
				return err
			}
			c, err := n.a.client()
			if err != nil {
				return err
			}
			if err := c.Do(cmd.Context(), "DELETE", path(segs...), nil, nil, nil); err != nil {
				return err
			}
			return n.a.say(map[string]string{"deleted": args[0]}, "Deleted %s %s.", n.name, args[0])
		},
	}
}

// group makes the noun's parent command.
func group(use, short string, children ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs, RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	cmd.AddCommand(children...)
	return cmd
}

// exactArgs is cobra.ExactArgs with an error that says what is expected, of kind invalid.
func exactArgs(n int, names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return gatehouse.Invalidf("arguments", "expected %s, got %d arguments (see %s --help)", strings.Join(names, " "), len(args), cmd.CommandPath())
		}
		return nil
	}
}

// place holds the --project and --app flags of nouns that live in a project or app.
type place struct{ project, app string }

func (p *place) bind(cmd *cobra.Command, app bool) {
	cmd.PersistentFlags().StringVarP(&p.project, "project", "p", "", "project name")
	if app {
		cmd.PersistentFlags().StringVarP(&p.app, "app", "a", "", "app name")
	}
}

// projectPath is projects/<project>, or an error naming the missing flag.
func (p *place) projectPath(rest ...string) ([]string, error) {
	if p.project == "" {
		return nil, gatehouse.Invalidf("--project", "is required (or set GATEHOUSE_PROJECT)")
	}
	return append([]string{"projects", p.project}, rest...), nil
}

// appPath is projects/<project>/apps/<app>.
func (p *place) appPath(rest ...string) ([]string, error) {
	if p.app == "" {
		return nil, gatehouse.Invalidf("--app", "is required (or set GATEHOUSE_APP)")
	}
	return p.projectPath(append([]string{"apps", p.app}, rest...)...)
}

// fixed returns a base function for a collection at a fixed path.
func fixed(segs ...string) func() ([]string, error) {
	return func() ([]string, error) { return segs, nil }
}

// when formats an optional time for tables.
func when(t interface{ Format(string) string }) string { return t.Format("2006-01-02 15:04") }

// flagSet reports whether a flag was given.
func flagSet(cmd *cobra.Command, name string) bool { return cmd.Flags().Changed(name) }

// strPtr returns &v when the flag was given, else nil (for PATCH bodies).
func strPtr(cmd *cobra.Command, name, v string) *string {
	if flagSet(cmd, name) {
		return &v
	}
	return nil
}

// readFileFlag reads the file a flag names ("-" for stdin).
func (a *App) readFileFlag(flag, file string) (string, error) {
	b, err := readFile(a, file)
	if err != nil {
		return "", gatehouse.Invalidf("--"+flag, "cannot read %s: %v", file, err)
	}
	return b, nil
}

func readFile(a *App, file string) (string, error) {
	if file == "-" {
		b, err := io.ReadAll(a.In)
		return string(b), err
	}
	b, err := os.ReadFile(file)
	return string(b), err
}
