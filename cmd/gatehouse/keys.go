package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/cli"
	"github.com/gatehousehq/gatehouse/keyring"
	"github.com/gatehousehq/gatehouse/sqlstore"
)

// keysCommand is `gatehouse keys`: it works on the database and the key files directly, as
// serve does, never through the API.
type keysCommand struct {
	a          *cli.App
	store      storeSettings
	configFile string
}

func keysCmd(a *cli.App) *cobra.Command {
	k := &keysCommand{a: a}
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Rotate and retire the keys that seal secrets at rest",
		Long: `Secrets (kubeconfigs, webhook URLs and signing secrets, secret settings, their drafts and
deployments' copies) are sealed at rest with the keys of the secret key file: the first key
seals, every key opens. These commands change that file and the database directly, with the
settings of gatehouse serve (flags, GATEHOUSE_* variables or its --config file).

Servers read the key file when they start, and one still running with the old file cannot open
what the new key sealed. Either stop the servers, run 'gatehouse keys rotate' and start them;
or, without downtime, run 'gatehouse keys rotate --no-reseal', restart every server (they then
open with both keys and seal with the new one) and run 'gatehouse keys reseal'. When
'gatehouse keys status' shows an old key sealing nothing, 'gatehouse keys retire KEYID' removes
it; keep a copy while you keep database backups it sealed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	pf := cmd.PersistentFlags()
	bindStoreFlags(pf, &k.store, "")
	pf.StringVar(&k.configFile, "config", "", "the server's config file (YAML, flag names as keys): its database and key file settings apply")
	cmd.AddCommand(k.rotateCmd(), k.resealCmd(), k.statusCmd(), k.retireCmd())
	return cmd
}

func (k *keysCommand) rotateCmd() *cobra.Command {
	var noReseal bool
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Make a new current key and re-seal every secret with it",
		Long: `Generate a new key and write the key file with it first and the old keys after (atomically:
the file is replaced whole, mode 0600), then re-seal every sealed value with the new key,
printing progress per table. If the re-sealing stops, the file still holds every key: run
'gatehouse keys reseal' to finish. With --no-reseal only the file changes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			file, keys, err := k.load(cmd)
			if err != nil {
				return err
			}
			keys = append([][]byte{keyring.NewKey()}, keys...)
			// Open the store before the file changes, so a wrong database leaves it as it was.
			db, err := k.open(cmd.Context(), keys)
			if err != nil {
				return err
			}
			defer db.Close()
			if err := writeKeys(file, keys); err != nil {
				return err
			}
			id := keyring.KeyID(keys[0])
			k.note(cmd, "New current key %s written to %s; it holds %d keys.", id, file, len(keys))
			if noReseal {
				counts, err := db.SealedKeyIDs(cmd.Context())
				if err != nil {
					return err
				}
				k.note(cmd, "Restart every server with the new key file, then run 'gatehouse keys reseal'.")
				return k.printJSON(cmd, sqlstore.ResealReport{Current: id, Resealed: map[string]int{}, SealedBy: counts})
			}
			return k.reseal(cmd, db)
		},
	}
	cmd.Flags().BoolVar(&noReseal, "no-reseal", false, "only write the new key file; re-seal later with 'gatehouse keys reseal'")
	return cmd
}

func (k *keysCommand) resealCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "reseal",
		Short: "Re-seal every secret with the current key",
		Long: `Re-seal with the key file's current (first) key every value another key sealed, in batches,
printing progress per table. It can be stopped and run again: values the current key seals are
left alone, so a second run changes nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return k.withStore(cmd, func(_ string, _ [][]byte, db *sqlstore.DB) error { return k.reseal(cmd, db) })
		},
	}
}

// keyStatus is one key of `keys status`.
type keyStatus struct {
	ID     string `json:"id"`
	State  string `json:"state"` // current, old, missing (seals values, not in the file) or unsealed (id "")
	Values int    `json:"values"`
}

func (k *keysCommand) statusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "List the key file's keys and how many values each seals",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return k.withStore(cmd, func(file string, keys [][]byte, db *sqlstore.DB) error {
				counts, err := db.SealedKeyIDs(cmd.Context())
				if err != nil {
					return err
				}
				out := []keyStatus{}
				for i, key := range keys {
					id, state := keyring.KeyID(key), "old"
					if i == 0 {
						state = "current"
					}
					out = append(out, keyStatus{ID: id, State: state, Values: counts[id]})
					delete(counts, id)
				}
				for _, id := range slices.Sorted(maps.Keys(counts)) {
					state := "missing"
					if id == "" {
						state = "unsealed"
					}
					out = append(out, keyStatus{ID: id, State: state, Values: counts[id]})
				}
				if jsonOutput(cmd) {
					return k.printJSON(cmd, map[string]any{"file": file, "keys": out})
				}
				tw := tabwriter.NewWriter(k.a.Out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "KEY\tSTATE\tVALUES")
				for _, s := range out {
					id, state := s.ID, s.State
					if id == "" {
						id = "-"
					}
					if state == "missing" {
						state = "missing from the key file"
					}
					fmt.Fprintf(tw, "%s\t%s\t%d\n", id, state, s.Values)
				}
				return tw.Flush()
			})
		},
	}
}

func (k *keysCommand) retireCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "retire KEYID",
		Short: "Remove an old key from the key file, once it seals nothing",
		Long: `Remove an old key (an id as 'gatehouse keys status' shows it) from the key file. It refuses
the current key, and a key that still seals values: run 'gatehouse keys reseal' first. Restart
the servers afterwards so they drop it too.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return gatehouse.Invalidf("arguments", "expected KEYID, got %d arguments (see %s --help)", len(args), cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			file, keys, err := k.load(cmd)
			if err != nil {
				return err
			}
			i := slices.IndexFunc(keys, func(key []byte) bool { return keyring.KeyID(key) == id })
			switch {
			case i < 0:
				return gatehouse.NotFoundf("key %q is not in %s, which holds %s", id, file, strings.Join(keyIDs(keys), ", "))
			case i == 0:
				return gatehouse.Errorf(gatehouse.KindPreconditionFailed, "key %s is the current key: make a new one with 'gatehouse keys rotate' first", id)
			}
			db, err := k.open(cmd.Context(), keys)
			if err != nil {
				return err
			}
			defer db.Close()
			counts, err := db.SealedKeyIDs(cmd.Context())
			if err != nil {
				return err
			}
			if n := counts[id]; n > 0 {
				return gatehouse.Errorf(gatehouse.KindPreconditionFailed, "key %s still seals %d %s: run 'gatehouse keys reseal', then retire it", id, n, plural(n, "value"))
			}
			keys = slices.Delete(keys, i, i+1)
			if err := writeKeys(file, keys); err != nil {
				return err
			}
			k.note(cmd, "Retired key %s: %s holds %d %s. Restart the servers so they drop it.", id, file, len(keys), plural(len(keys), "key"))
			return k.printJSON(cmd, map[string]any{"retired": id, "keys": keyIDs(keys)})
		},
	}
}

// load applies the config file and reads the secret key file, which must exist: these commands
// never make one.
func (k *keysCommand) load(cmd *cobra.Command) (string, [][]byte, error) {
	var all settings
	known := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	bindServeFlags(known, &all)
	if err := applyConfigFile(cmd.Flags(), known, k.configFile); err != nil {
		return "", nil, err
	}
	file, _, _ := k.store.paths()
	keys, err := readKeys(file, "--secret-key-file")
	return file, keys, err
}

// open opens the store with the keys (the current first) and the audit key. A SQLite database
// must exist: a wrong --data-dir must not make an empty one.
func (k *keysCommand) open(ctx context.Context, keys [][]byte) (*sqlstore.DB, error) {
	_, auditFile, dsn := k.store.paths()
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		if _, err := os.Stat(strings.TrimPrefix(dsn, "sqlite:")); err != nil {
			return nil, gatehouse.Errorf(gatehouse.KindPreconditionFailed, "no database at %s: point --data-dir or --database at the server's", dsn)
		}
	}
	audit, err := readKeys(auditFile, "--audit-key-file")
	if err != nil {
		return nil, err
	}
	ring, err := keyring.New(keys...)
	if err != nil {
		return nil, gatehouse.Invalidf("--secret-key-file", "%v", err)
	}
	return sqlstore.Open(ctx, sqlstore.Options{DSN: dsn, Secrets: ring, AuditKey: audit[0]})
}

// reseal re-seals the store's values with its current key, printing progress (to stderr with
// -o json, whose report goes to stdout).
func (k *keysCommand) reseal(cmd *cobra.Command, db *sqlstore.DB) error {
	progress := k.a.Out
	if jsonOutput(cmd) {
		progress = k.a.Err
	}
	rep, err := db.Reseal(cmd.Context(), func(table string, n int) {
		fmt.Fprintf(progress, "  %s: %d %s re-sealed\n", table, n, plural(n, "value"))
	})
	if gatehouse.KindOf(err) == gatehouse.KindInternal {
		return fmt.Errorf("%w (the key file holds every key: run 'gatehouse keys reseal' to finish)", err)
	} else if err != nil {
		return err
	}
	total, others := 0, []string{}
	for _, n := range rep.Resealed {
		total += n
	}
	for _, id := range slices.Sorted(maps.Keys(rep.SealedBy)) {
		if id != rep.Current {
			others = append(others, fmt.Sprintf("%d by key %s", rep.SealedBy[id], id))
		}
	}
	k.note(cmd, "Re-sealed %d %s with key %s; it seals %d.", total, plural(total, "value"), rep.Current, rep.SealedBy[rep.Current])
	if len(others) > 0 {
		k.note(cmd, "Still sealed by other keys (written meanwhile by servers with an older key file?): %s. Restart them and reseal again.", strings.Join(others, ", "))
	}
	return k.printJSON(cmd, rep)
}

// note prints a line for people; with -o json it prints nothing, leaving stdout to the report.
func (k *keysCommand) note(cmd *cobra.Command, format string, args ...any) {
	if !jsonOutput(cmd) {
		fmt.Fprintf(k.a.Out, format+"\n", args...)
	}
}

// printJSON prints v as indented JSON with -o json, and nothing otherwise.
func (k *keysCommand) printJSON(cmd *cobra.Command, v any) error {
	if !jsonOutput(cmd) {
		return nil
	}
	enc := json.NewEncoder(k.a.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func jsonOutput(cmd *cobra.Command) bool {
	o, _ := cmd.Flags().GetString("output")
	return o == "json"
}

// readKeys reads a key file that must exist; flag names the setting for errors, which never
// quote the file's content.
func readKeys(path, flag string) ([][]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, gatehouse.Errorf(gatehouse.KindPreconditionFailed, "no key file at %s: point %s or --data-dir at the server's", path, flag)
	} else if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	keys, err := keyring.ParseKeys(string(b))
	if err != nil {
		return nil, gatehouse.Invalidf(flag, "key file %s: %v", path, err)
	}
	return keys, nil
}

// writeKeys replaces the key file atomically: a new file (mode 0600) beside it, synced, renamed
// over it, and the directory synced, so a crash leaves the old file or the new one whole.
func writeKeys(path string, keys [][]byte) (err error) {
	var b strings.Builder
	b.WriteString("# Gatehouse secret keys, one per line: the first seals, every one opens (gatehouse keys status).\n")
	for _, key := range keys {
		b.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	if _, err := io.WriteString(f, b.String()); err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

func keyIDs(keys [][]byte) []string {
	out := make([]string, len(keys))
	for i, key := range keys {
		out[i] = keyring.KeyID(key)
	}
	return out
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// withStore loads the key file and opens the store with its keys for fn.
func (k *keysCommand) withStore(cmd *cobra.Command, fn func(file string, keys [][]byte, db *sqlstore.DB) error) error {
	file, keys, err := k.load(cmd)
	if err != nil {
		return err
	}
	db, err := k.open(cmd.Context(), keys)
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(file, keys, db)
}
