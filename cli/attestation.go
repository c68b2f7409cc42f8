package cli

import (
	"crypto/ed25519"
	"fmt"
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
			for _, f := range keyFiles {
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
			if want.Digest != "" && !strings.HasPrefix(want.Digest, "sha256:") {
				return gatehouse.Invalidf("--digest", "%q: expected sha256:<64 hex digits>", want.Digest)
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
	verify.Flags().StringArrayVar(&keyFiles, "key", nil, "public key file (PEM) that may have signed it; repeat for retired keys")
	verify.Flags().StringVar(&want.Digest, "digest", "", "require the attestation to be about this image digest (sha256:…)")
	verify.Flags().StringVar(&want.Environment, "env", "", "require a deployment to this environment")
	cmd := &cobra.Command{Use: "attestation", Short: "Signed statements of what Gatehouse deployed, on whose approval"}
	cmd.AddCommand(verify)
	return cmd
}
