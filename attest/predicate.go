// Package attest makes and checks Gatehouse's deployment attestations: an in-toto Statement
// v1 whose subject is the deployed image digest and whose predicate records who approved what
// for which environment, signed as a DSSE envelope with an Ed25519 key. Verifying needs only
// the envelope and a public key, never a server.
package attest

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// PredicateType names the predicate's schema (attest/deployment-v1.schema.json).
const PredicateType = "https://gatehouse.dev/deployment/v1"

// PayloadType is the DSSE payload type of an in-toto Statement.
const PayloadType = "application/vnd.in-toto+json"

// Deployment is the predicate: what was deployed where, and on whose word. It holds marks of
// values and secrets (their revisions), never the values.
type Deployment struct {
	Deployment  int64  `json:"deployment"`
	Project     string `json:"project"`
	App         string `json:"app"`
	Environment string `json:"environment"`
	Cluster     string `json:"cluster"`
	Namespace   string `json:"namespace"`
	Image       string `json:"image"`
	Chart       Chart  `json:"chart"`
	// ConfigRevision is the app's configuration revision the deployment used (base values,
	// overrides and secrets together); SecretsRevision the environment's secrets revision.
	ConfigRevision  int64       `json:"config_revision"`
	SecretsRevision int64       `json:"secrets_revision"`
	Approval        *Approval   `json:"approval,omitempty"`
	Policies        []PolicyRef `json:"policies"`
	Requester       string      `json:"requester"`
	Deployer        string      `json:"deployer"`
	BreakGlass      *BreakGlass `json:"break_glass,omitempty"`
	// AuditSeq is the audit trail's sequence number of the deployment's event.
	AuditSeq   int64     `json:"audit_seq"`
	FinishedAt time.Time `json:"finished_at"`
}

// Chart is the chart a deployment applied.
type Chart struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Digest  string `json:"digest"`
}

// Approval is the approval request a deployment consumed, with every vote cast on it.
type Approval struct {
	ID    int64  `json:"id"`
	Votes []Vote `json:"votes"`
}

// Vote is one person's decision: the version of the request they saw, when, and why.
type Vote struct {
	Person  string    `json:"person"`
	Approve bool      `json:"approve"`
	Version int64     `json:"version"`
	Comment string    `json:"comment,omitempty"`
	At      time.Time `json:"at"`
}

// PolicyRef names a policy as it stood when it judged.
type PolicyRef struct {
	Name    string `json:"name"`
	Version int64  `json:"version"`
}

// BreakGlass is the emergency access under which a deployment went around the gate.
type BreakGlass struct {
	ID     int64  `json:"id"`
	Person string `json:"person"`
	Reason string `json:"reason"`
}

// Validate reports the first field a predicate lacks, by its JSON name.
func (d *Deployment) Validate() error {
	for _, f := range []struct{ name, v string }{
		{"project", d.Project}, {"app", d.App}, {"environment", d.Environment}, {"cluster", d.Cluster},
		{"namespace", d.Namespace}, {"image", d.Image}, {"deployer", d.Deployer},
	} {
		if strings.TrimSpace(f.v) == "" {
			return fmt.Errorf("predicate: %s is empty", f.name)
		}
	}
	if d.Deployment <= 0 {
		return errors.New("predicate: deployment is not a deployment id")
	}
	return nil
}
