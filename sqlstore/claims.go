package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gatehousehq/gatehouse"
)

// claimant is the environment that last used a namespace of an API server.
type claimant struct {
	id            int64
	project, name string
}

// namespaceOwner returns the environment that last used the namespace on the server, if it
// is another than self.
func namespaceOwner(ctx context.Context, q querier, server, namespace string, self int64) (*claimant, error) {
	var c claimant
	err := q.QueryRowContext(ctx, `SELECT e.id, p.name, e.name FROM namespace_claims n JOIN environments e ON e.id = n.environment_id
		JOIN projects p ON p.id = e.project_id WHERE n.server = $1 AND n.namespace = $2`, server, namespace).Scan(&c.id, &c.project, &c.name)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && c.id == self) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("namespace claim: %w", err)
	}
	return &c, nil
}

// claimNamespace records that the environment uses the namespace of the server now.
func (tx *Tx) claimNamespace(server, namespace string, env int64) error {
	if _, err := tx.ExecContext(tx.ctx, `INSERT INTO namespace_claims (server, namespace, environment_id, claimed_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (server, namespace) DO UPDATE SET environment_id = excluded.environment_id, claimed_at = excluded.claimed_at`,
		server, namespace, env, micro(tx.now)); err != nil {
		return fmt.Errorf("claim namespace: %w", err)
	}
	return nil
}

// misplaced says why a queued deployment must not be applied where it was queued to go, or
// "": its environment has moved since (it would apply to the old place), or the namespace is
// now another environment's.
func (tx *Tx) misplaced(id, envID int64) (string, error) {
	var cluster, namespace, envName, nowCluster, nowNamespace, server string
	if err := tx.QueryRowContext(tx.ctx, `SELECT d.cluster, d.namespace, e.name, c.name, e.namespace, c.server FROM deployments d
		JOIN environments e ON e.id = d.environment_id JOIN clusters c ON c.id = e.cluster_id WHERE d.id = $1`, id).
		Scan(&cluster, &namespace, &envName, &nowCluster, &nowNamespace, &server); err != nil {
		return "", fmt.Errorf("deployment placement: %w", err)
	}
	if cluster != nowCluster || namespace != nowNamespace {
		return fmt.Sprintf("environment %s moved to namespace %s of cluster %s since this deployment was queued for namespace %s of cluster %s: deploy again",
			envName, nowNamespace, nowCluster, namespace, cluster), nil
	}
	owner, err := namespaceOwner(tx.ctx, tx, server, namespace, envID)
	if err != nil || owner == nil {
		return "", err
	}
	return fmt.Sprintf("namespace %s of cluster %s belongs to environment %s/%s: a release of %s is not applied there",
		namespace, cluster, owner.project, owner.name, envName), nil
}

// unclaimed keeps the namespaces a deployment's release may also reach that no other
// environment uses: a namespace another environment claims is never opened to a release.
func (tx *Tx) unclaimed(d *gatehouse.Deployment, namespaces []string) ([]string, error) {
	if len(namespaces) == 0 {
		return []string{}, nil
	}
	var server string
	var envID int64
	if err := tx.QueryRowContext(tx.ctx, `SELECT c.server, d.environment_id FROM deployments d JOIN environments e ON e.id = d.environment_id
		JOIN clusters c ON c.id = e.cluster_id WHERE d.id = $1`, d.ID).Scan(&server, &envID); err != nil {
		return nil, fmt.Errorf("deployment cluster: %w", err)
	}
	out := []string{}
	for _, ns := range namespaces {
		owner, err := namespaceOwner(tx.ctx, tx, server, ns, envID)
		if err != nil {
			return nil, err
		}
		if owner == nil {
			out = append(out, ns)
		}
	}
	return out, nil
}
