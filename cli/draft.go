package cli

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse"
)

var draftHeader = []string{"id", "draft of", "state", "version", "progress", "authors", "updated"}

func draftRow(d *gatehouse.Draft) []string {
	return []string{fmt.Sprint(d.ID), d.DraftRef.String(), string(d.State), fmt.Sprint(d.Version),
		progressText(&gatehouse.ApprovalRequest{Verdicts: d.Verdicts}), strings.Join(d.Authors, ","), when(d.UpdatedAt)}
}

// drafts builds the commands on drafts. `gatehouse draft` (every kind) and `gatehouse config`
// (configuration resources) offer the same commands, built here once: only how a new draft
// names its subject differs, and the command paths their examples show.
type drafts struct {
	a  *App
	n  noun[gatehouse.Draft]
	pl *place
	// group is the path of the commands on one draft ("gatehouse draft", "gatehouse config
	// draft"); steps the path of its steps ("gatehouse draft", "gatehouse config").
	group, steps string
}

func newDrafts(a *App, pl *place, group, steps string) drafts {
	return drafts{a: a, pl: pl, group: group, steps: steps,
		n: noun[gatehouse.Draft]{a: a, name: "draft", header: draftHeader, row: draftRow, base: fixed("drafts")}}
}

// draft fetches one draft.
func (a *App) draft(cmd *cobra.Command, id string) (*gatehouse.Draft, error) {
	var d gatehouse.Draft
	return &d, a.call(cmd, "GET", []string{"drafts", id}, nil, nil, &d)
}

// create opens a draft of the subject ref names (from the flags bind adds) with the content
// of --file.
func (ds drafts) create(use, short, example string, bind func(*cobra.Command), ref func() (gatehouse.DraftRef, error)) *cobra.Command {
	var w configWrite
	cmd := &cobra.Command{
		Use:     use,
		Short:   short,
		Example: example,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := ref()
			if err != nil {
				return err
			}
			in, err := w.read(ds.a)
			if err != nil {
				return err
			}
			return ds.n.send(cmd, "POST", []string{"drafts"}, gatehouse.DraftCreate{DraftRef: r, ConfigWrite: in})
		},
	}
	bind(cmd)
	w.bind(cmd)
	return cmd
}

func (ds drafts) edit() *cobra.Command {
	var w configWrite
	var base int64
	cmd := &cobra.Command{
		Use:   "edit DRAFT-ID --file FILE [--base-version N]",
		Short: "Add a version to a draft (approvals of the version before no longer count)",
		Long: `Add a version to a draft. --base-version is the version your edit starts from: when someone
else added a version since, the edit is refused (exit 6, "draft changed, reload") so that no edit
overwrites another. Without it, the draft's current version is fetched and used.`,
		Example: "  " + ds.group + " edit 12 -f prod.yaml --base-version 2 -m \"keep INFO for the api\"",
		Args:    exactArgs(1, "DRAFT-ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := w.read(ds.a)
			if err != nil {
				return err
			}
			in.BaseVersion = base
			if !flagSet(cmd, "base-version") {
				d, err := ds.a.draft(cmd, args[0])
				if err != nil {
					return err
				}
				in.BaseVersion = d.Version
			} else if base < 1 {
				return gatehouse.Invalidf("--base-version", "%d is not a version: expected 1 or more", base)
			}
			return ds.n.send(cmd, "POST", []string{"drafts", args[0], "versions"}, in)
		},
	}
	w.bind(cmd)
	cmd.Flags().Int64Var(&base, "base-version", 0, "the draft version your edit starts from (default: its current version)")
	return cmd
}

func (ds drafts) show() *cobra.Command {
	return &cobra.Command{
		Use:     "show DRAFT-ID",
		Short:   "Show a draft: its version, subject, state, policy progress, votes, comments and its change against live",
		Example: "  " + ds.group + " show 12",
		Args:    exactArgs(1, "DRAFT-ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := ds.a.draft(cmd, args[0])
			if err != nil {
				return err
			}
			if ds.a.output == "json" {
				return ds.a.render(d, table{})
			}
			printDraft(ds.a.Out, d, ds.steps)
			return nil
		},
	}
}

func (ds drafts) comment() *cobra.Command {
	return &cobra.Command{
		Use:     "comment DRAFT-ID TEXT",
		Short:   "Add a remark to a draft",
		Example: `  ` + ds.group + ` comment 12 "does the api read LOG_LEVEL at start only?"`,
		Args:    exactArgs(2, "DRAFT-ID", "TEXT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return ds.n.send(cmd, "POST", []string{"drafts", args[0], "comments"}, gatehouse.DraftNote{Text: args[1]})
		},
	}
}

func (ds drafts) list() *cobra.Command {
	var f gatehouse.DraftFilter
	list := ds.n.list(func() url.Values {
		q := url.Values{}
		for k, v := range map[string]string{"project": ds.pl.project, "app": ds.pl.app, "environment": f.Environment,
			"kind": string(f.Kind), "state": string(f.State)} {
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
	list.Short = "List drafts, newest first"
	list.Example = "  " + ds.group + " list -p shop --state proposed\n  " + ds.group + " list --mine"
	list.PreRunE = func(*cobra.Command, []string) error {
		if f.Limit < 0 || f.Limit > 1000 {
			return gatehouse.Invalidf("--limit", "%d is out of range: expected 1 to 1000", f.Limit)
		}
		return nil
	}
	list.Flags().StringVarP(&f.Environment, "env", "e", "", "only this environment")
	list.Flags().StringVarP((*string)(&f.Kind), "kind", "k", "", "only this kind ("+kindList()+")")
	list.Flags().StringVar((*string)(&f.State), "state", "", "only this state (draft, proposed, approved, published, discarded)")
	list.Flags().BoolVar(&f.ForMe, "mine", false, "only proposed drafts waiting for my vote")
	list.Flags().IntVar(&f.Limit, "limit", 0, "how many (default 100)")
	return list
}

// kindList names the draft kinds for help and errors: "values, configmap, …".
func kindList() string {
	names := make([]string, len(gatehouse.DraftKinds))
	for i, k := range gatehouse.DraftKinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// draftRef is what names a draft's subject in `gatehouse draft`: --kind, the group's -p and
// -a, --env and --policy.
type draftRef struct {
	pl  *place
	ref gatehouse.DraftRef
}

func (r *draftRef) bind(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP((*string)(&r.ref.Kind), "kind", "k", "", "what the draft changes: "+kindList())
	f.StringVarP(&r.ref.Environment, "env", "e", "", "environment (kinds values, configmap, secrets, environment, rollback)")
	f.StringVar(&r.ref.Policy, "policy", "", "policy name (kind policy)")
	f.StringVar(&r.ref.Window, "window", "", "window name (kind window)")
	f.StringVar(&r.ref.User, "user", "", "user (kind access)")
	f.StringVar(&r.ref.Group, "group", "", "group (kind access)")
}

// get checks the reference: errors name the flag at fault, not the API's field.
func (r *draftRef) get() (gatehouse.DraftRef, error) {
	ref := r.ref
	if ref.Kind != gatehouse.DraftAccess && ref.Kind != gatehouse.DraftPolicy && ref.Kind != gatehouse.DraftWindow {
		ref.Project, ref.App = r.pl.project, r.pl.app
	}
	if ref.Kind == "" {
		return ref, gatehouse.Invalidf("--kind", "is required: expected %s", kindList())
	}
	err := ref.Validate()
	var e *gatehouse.Error
	if errors.As(err, &e) && e.Field != "" {
		flag := map[string]string{"kind": "--kind", "project": "--project", "app": "--app", "environment": "--env", "policy": "--policy", "window": "--window",
			"user": "--user", "group": "--group"}[e.Field]
		return ref, gatehouse.Invalidf(cmp.Or(flag, e.Field), "%s", e.Message)
	}
	return ref, err
}

// liveCmd prints what is live of a subject in the form a draft of it takes: the start of
// a draft's file.
func (a *App) liveCmd(r *draftRef) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "live --kind K [-p P] [-a A] [--env E] [--policy NAME]",
		Short: "Print what is live of a draft's subject, as a draft of it is written (secret values masked)",
		Example: `  gatehouse draft live --kind environment -p shop --env prod > prod.yaml
  gatehouse draft live --kind policy --policy prod-gate -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ref, err := r.get()
			if err != nil {
				return err
			}
			live, err := a.live(cmd, ref)
			if err != nil {
				return err
			}
			if a.output == "json" {
				return a.render(live, table{})
			}
			_, err = fmt.Fprint(a.Out, withNewline(live.Content))
			return err
		},
	}
	r.bind(cmd)
	return cmd
}

// live reads a subject as it is now.
func (a *App) live(cmd *cobra.Command, ref gatehouse.DraftRef) (*gatehouse.Live, error) {
	q := url.Values{"kind": {string(ref.Kind)}}
	for k, v := range map[string]string{"project": ref.Project, "app": ref.App, "environment": ref.Environment, "policy": ref.Policy, "window": ref.Window,
		"user": ref.User, "group": ref.Group} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var live gatehouse.Live
	return &live, a.call(cmd, "GET", []string{"live"}, q, nil, &live)
}

// draftCmd is `gatehouse draft`: drafts of every kind, from opening one to publishing it.
func (a *App) draftCmd() *cobra.Command {
	var pl place
	ds := newDrafts(a, &pl, "gatehouse draft", "gatehouse draft")
	create := &draftRef{pl: &pl}
	live := &draftRef{pl: &pl}
	cmd := group("draft", "Change what runs in protected environments through drafts: configuration, settings, policies, rollbacks",
		ds.create("create --kind K [-p P] [-a A] [--env E] [--policy NAME] --file FILE",
			"Open a draft of anything protected: its first version is the content of --file", `  gatehouse draft live --kind environment -p shop --env prod > prod.yaml   # then edit it
  gatehouse draft create --kind environment -p shop --env prod -f prod.yaml -m "move to the new cluster"
  gatehouse draft create --kind policy --policy prod-gate -f /dev/null -m "retire the gate"   # empty: delete it`,
			create.bind, create.get),
		a.liveCmd(live), ds.show(), ds.list(), ds.edit(), ds.comment())
	cmd.AddCommand(ds.flow()...)
	cmd.Long = `Change what runs in protected environments through drafts. A draft is of a kind:
  values, configmap, secrets  an app's configuration (-p -a, and --env but for base values)
  environment                 an environment's placement (-p --env): cluster, namespace,
                              allow_cluster_scoped, allow_namespaces
  chart, hooks, pipeline      an app's chart (pinned by the server), hooks, pipeline (-p -a)
  policy                      a change that loosens a policy (--policy); empty content deletes it
  rollback                    a rollback that applies other configuration (-p -a --env): deployment: N
  window                      a window change that opens a protected environment (--window);
                              empty content deletes it
Its content is YAML, as gatehouse draft live prints it. A draft is proposed, approved by
the people its policies name (each vote names the version it saw: --version), then published.`
	cmd.Example = `  gatehouse env update prod -p shop --namespace shop-v2 --propose -m "new namespace" --notify carol
  gatehouse draft show 12                  # as carol: what changes, and its version
  gatehouse draft approve 12 --version 1
  gatehouse draft publish 12               # as the author, once approved`
	pl.bind(cmd, true)
	return cmd
}
