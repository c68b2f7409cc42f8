package cli

import (
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/attest"
)

// AttestationRefused is the error of `attestation verify` when the attestation does not hold
// (bad signature, another digest or environment, not an attestation); it exits 12.
type AttestationRefused struct{ Reason error }

func (e *AttestationRefused) Error() string { return "attestation refused: " + e.Reason.Error() }

func (e *AttestationRefused) Unwrap() error { return e.Reason }

func (a *App) attestationCmd() *cobra.Command {
	var keyFiles []string
	var want attest.Expect
	verify := &cobra.Command{
		Use:   "verify FILE",
		Short: "Check a deployment attestation offline: its signature, and what it is about; exits 12 when it does not hold",
		Long: `Verify a deployment attestation (a DSSE envelope of an in-toto Statement, "-" reads stdin)
with the published public key(s) of the server that signed it, without asking any server.
It holds when one of the keys signed it and, with --digest and --env, when it is about that
image digest deployed to that environment. Otherwise it exits 12 and says why.`,
		Example: "  gatehouse attestation verify deployment-42.json --key attestation.pub --digest sha256:… --env prod",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(keyFiles) == 0 {
				return gatehouse.Invalidf("--key", "expected the signer's public key (PEM), e.g. from GET /api/v1/attestation-keys")
			}
			var keys []ed25519.PublicKey
			var files []string
			for _, f := range keyFiles {
				if st, err := os.Stat(f); err == nil && st.IsDir() {
					pubs, _ := filepath.Glob(filepath.Join(f, "*.pub"))
					if len(pubs) == 0 {
						return gatehouse.Invalidf("--key", "%s holds no .pub files", f)
					}
					files = append(files, pubs...)
					continue
				}
				files = append(files, f)
			}
			for _, f := range files {
				text, err := a.readFileFlag("key", f)
				if err != nil {
					return err
				}
				k, err := attest.ParsePublicKey([]byte(text))
				if err != nil {
					return gatehouse.Invalidf("--key", "%s: %v", f, err)
				}
				keys = append(keys, k)
			}
			if want.Digest != "" {
				if err := gatehouse.ValidateDigest("--digest", want.Digest); err != nil {
					return err
				}
			}
			envelope, err := a.readFileFlag("FILE", args[0])
			if err != nil {
				return err
			}
			v, err := attest.Verify(cmd.Context(), []byte(envelope), keys, want)
			if err != nil {
				return &AttestationRefused{Reason: err}
			}
			d := v.Deployment
			approved := "no approval request"
			if d.Approval != nil {
				var who []string
				for _, vote := range d.Approval.Votes {
					if vote.Approve {
						who = append(who, fmt.Sprintf("%s (v%d)", vote.Person, vote.Version))
					}
				}
				approved = fmt.Sprintf("request %d approved by %s", d.Approval.ID, strings.Join(who, ", "))
			}
			return a.say(v, "verified (key %s): deployment %d of %s/%s to %s (cluster %s, namespace %s)\nimage %s\n%s; deployed by %s; audit event %d",
				v.KeyID, d.Deployment, d.Project, d.App, d.Environment, d.Cluster, d.Namespace, d.Image, approved, d.Deployer, d.AuditSeq)
		},
	}
	verify.Flags().StringArrayVar(&keyFiles, "key", nil, "public key file (PEM) that may have signed it, or a directory of them (*.pub, as 'attestation keys --out' writes); repeat for more")
	verify.Flags().StringVar(&want.Digest, "digest", "", "require the attestation to be about this image digest (sha256:…)")
	verify.Flags().StringVar(&want.Environment, "env", "", "require a deployment to this environment")
	var out string
	keysCmd := &cobra.Command{
		Use:   "keys",
		Short: "Fetch the server's attestation public keys (PEM), the current first",
		Long: `Fetch the public keys that verify this server's deployment attestations: the current one and
the retired ones, whose attestations still verify with them. With --out, write each to
DIR/KEY-ID.pub (the key id's characters that cannot be in a file name become "_"); otherwise
print them.`,
		Example: "  gatehouse attestation keys --out keys/ && gatehouse attestation verify att.json --key keys/*.pub",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var page struct {
				Items []gatehouse.AttestationKey `json:"items"`
			}
			if err := c.Do(cmd.Context(), "GET", path("attestation-keys"), nil, nil, &page); err != nil {
				return err
			}
			if out != "" {
				for _, k := range page.Items {
					name := filepath.Join(out, strings.Map(func(r rune) rune {
						if r == '/' || r == ':' || r == '+' || r == '=' {
							return '_'
						}
						return r
					}, k.KeyID)+".pub")
					if err := os.WriteFile(name, []byte(k.PublicKey), 0o644); err != nil {
						return gatehouse.Invalidf("--out", "cannot write %s: %v", name, err)
					}
					fmt.Fprintln(a.Err, "wrote", name)
				}
			}
			if a.output == "json" || out == "" {
				return a.render(page.Items, rowsOf(page.Items, []string{"key id", "current", "public key"}, func(k gatehouse.AttestationKey) []string {
					return []string{k.KeyID, fmt.Sprint(k.Current), strings.ReplaceAll(strings.TrimSpace(k.PublicKey), "\n", " ")}
				}))
			}
			return nil
		},
	}
	keysCmd.Flags().StringVar(&out, "out", "", "directory to write the keys to, one PEM file each")
	cmd := &cobra.Command{Use: "attestation", Short: "Signed statements of what Gatehouse deployed, on whose approval"}
	cmd.AddCommand(verify, keysCmd)
	return cmd
}
