package cli

import (
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse"
)

func (a *App) artifactCmd() *cobra.Command {
	var pl place
	n := noun[gatehouse.Artifact]{a: a, name: "artifact", header: []string{"digest", "tags", "commit", "builder", "pusher", "labels", "notes", "created", "state"},
		row: func(x *gatehouse.Artifact) []string {
			state := "live"
			if x.RetractedAt != nil {
				state = "retracted"
			}
			return []string{x.Digest, strings.Join(x.Tags, ","), x.Commit, x.Builder, x.Pusher, pairs(x.Labels), pairs(x.Notes), when(x.CreatedAt), state}
		},
		base: func() ([]string, error) { return pl.appPath("artifacts") }}

	var in gatehouse.ArtifactCreate
	var commitTime string
	var labels []string
	push := &cobra.Command{
		Use:     "push IMAGE@DIGEST",
		Short:   "Register an image built by CI (by digest; tags are pointers)",
		Example: "  gatehouse artifact push registry.example.com/shop/web:1.4.0@sha256:… -p shop -a web --commit $GIT_SHA --label qa=passed",
		Args:    exactArgs(1, "IMAGE@DIGEST"),
		RunE: func(cmd *cobra.Command, args []string) error {
			segs, err := n.base()
			if err != nil {
				return err
			}
			in.Image = args[0]
			if commitTime != "" {
				t, err := time.Parse(time.RFC3339, commitTime)
				if err != nil {
					return gatehouse.Invalidf("--commit-time", "%q is not a time: expected RFC 3339, e.g. 2026-11-27T10:00:00Z", commitTime)
				}
				in.CommitTime = &t
			}
			if in.Labels, err = parseLabels("--label", labels); err != nil {
				return err
			}
			return n.send(cmd, "POST", segs, in)
		},
	}
	f := push.Flags()
	f.StringArrayVarP(&in.Tags, "tag", "t", nil, "tag to point at this image (repeat)")
	f.StringVar(&in.Commit, "commit", "", "commit id the image was built from")
	f.StringVar(&commitTime, "commit-time", "", "commit time, RFC 3339")
	f.StringVar(&in.CommitAuthor, "commit-author", "", "commit author")
	f.StringVar(&in.Builder, "builder", "", "who built it (service accounts only; a person pushing is the builder)")
	f.StringArrayVarP(&labels, "label", "l", nil, "label KEY=VALUE (repeat); labels are fixed at push, and policy conditions read them")

	var tag string
	var all bool
	list := n.list(func() url.Values {
		q := url.Values{}
		if tag != "" {
			q.Set("tag", tag)
		}
		if all {
			q.Set("retracted", "true")
		}
		return q
	})
	list.Flags().StringVar(&tag, "tag", "", "only the artifact this tag points at")
	list.Flags().BoolVar(&all, "all", false, "include retracted artifacts")

	update := func(use, short string, nargs cobra.PositionalArgs, build func(args []string) (gatehouse.ArtifactUpdate, error)) *cobra.Command {
		return &cobra.Command{
			Use:   use,
			Short: short,
			Args:  nargs,
			RunE: func(cmd *cobra.Command, args []string) error {
				segs, err := n.at(args[0])
				if err != nil {
					return err
				}
				body, err := build(args[1:])
				if err != nil {
					return err
				}
				return n.send(cmd, "PATCH", segs, body)
			},
		}
	}
	tagCmd := update("tag DIGEST TAG…", "Point tags at an artifact (moving them from others)", cobra.MinimumNArgs(2), func(args []string) (gatehouse.ArtifactUpdate, error) {
		return gatehouse.ArtifactUpdate{AddTags: args}, nil
	})
	untag := update("untag DIGEST TAG…", "Remove tags from an artifact", cobra.MinimumNArgs(2), func(args []string) (gatehouse.ArtifactUpdate, error) {
		return gatehouse.ArtifactUpdate{RemoveTags: args}, nil
	})
	var setNotes, removeNotes []string
	note := update("note DIGEST --note KEY=VALUE… --remove-note KEY…", "Set or remove an artifact's notes (labels are fixed at push; no policy condition reads notes)",
		exactArgs(1, "DIGEST"), func([]string) (gatehouse.ArtifactUpdate, error) {
			if len(setNotes) == 0 && len(removeNotes) == 0 {
				return gatehouse.ArtifactUpdate{}, gatehouse.Invalidf("--note", "is required (or --remove-note): expected KEY=VALUE")
			}
			set, err := parseLabels("--note", setNotes)
			return gatehouse.ArtifactUpdate{SetNotes: set, RemoveNotes: removeNotes}, err
		})
	note.Example = "  gatehouse artifact note sha256:… -p shop -a web --note ticket=OPS-12 --remove-note wip"
	note.Flags().StringArrayVar(&setNotes, "note", nil, "note KEY=VALUE to set (repeat)")
	note.Flags().StringArrayVar(&removeNotes, "remove-note", nil, "note KEY to remove (repeat)")
	retract := &cobra.Command{
		Use:   "retract DIGEST",
		Short: "Mark an artifact unusable (it stays in the trail)",
		Args:  exactArgs(1, "DIGEST"),
		RunE: func(cmd *cobra.Command, args []string) error {
			segs, err := n.at(args[0])
			if err != nil {
				return err
			}
			return n.send(cmd, "DELETE", segs, nil)
		},
	}
	get := n.get()
	get.Use = "get DIGEST"
	cmd := group("artifact", "Register and inspect an app's images", push, list, get, tagCmd, untag, note, retract)
	pl.bind(cmd, true)
	return cmd
}

// pairs shows labels or notes in a table cell: KEY=VALUE by key, comma-separated.
func pairs(m map[string]string) string {
	out := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, k+"="+m[k])
	}
	return strings.Join(out, ",")
}

// parseLabels reads KEY=VALUE pairs (labels or notes).
func parseLabels(field string, pairs []string) (map[string]string, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for i, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, gatehouse.Invalidf(field+"["+strconv.Itoa(i)+"]", "%q: expected KEY=VALUE", p)
		}
		out[k] = v
	}
	return out, nil
}
