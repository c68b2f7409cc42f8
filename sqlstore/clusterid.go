package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// ClusterIdentifier asks a cluster what it is (see gatehouse.Cluster.Identity) through a
// kubeconfig.
type ClusterIdentifier func(ctx context.Context, kubeconfig gatehouse.Secret) (string, error)

// SetClusterIdentifier installs the way clusters are identified when registered or given a
// new kubeconfig. Without one, a cluster's identity is first learnt by the worker that deploys
// to it (see ObserveCluster).
func (db *DB) SetClusterIdentifier(f ClusterIdentifier) { db.identify = f }

// identifyTimeout bounds how long registering a cluster waits for it to answer: a cluster
// that cannot be reached yet is registered all the same, and identified at its first deploy.
const identifyTimeout = 5 * time.Second

// identifyCluster returns the identity of the cluster a kubeconfig reaches, or "" when there
// is no identifier or the cluster does not answer.
func (db *DB) identifyCluster(ctx context.Context, name string, kc gatehouse.Secret) string {
	if db.identify == nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, identifyTimeout)
	defer cancel()
	id, err := db.identify(ctx, kc)
	if err != nil {
		db.log.Info("cluster not identified: it is identified at its first deployment", "cluster", name, "err", err)
		return ""
	}
	return id
}

// nullText stores "" as NULL.
func nullText(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// sameCluster refuses an identity another registered cluster already has: one Kubernetes
// cluster is registered once, or the namespaces its environments claim could be reached
// through the other name.
func sameCluster(ctx context.Context, q querier, identity, name string) error {
	if identity == "" {
		return nil
	}
	var other string
	err := q.QueryRowContext(ctx, `SELECT name FROM clusters WHERE identity = $1 AND name <> $2`, identity, name).Scan(&other)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return fmt.Errorf("cluster identity: %w", err)
	}
	return gatehouse.Conflictf("cluster %q reaches the same Kubernetes cluster as cluster %q (its kube-system namespace has UID %s): "+
		"a cluster is registered once; use cluster %q", name, other, identity, other)
}

// repointed refuses a kubeconfig that points a cluster hosting environments at another API
// server: that would move every environment on it without the gated change a move takes. New
// credentials for the same server are fine, and so is a new URL of the same cluster (its
// identity unchanged).
func repointed(ctx context.Context, q querier, before *gatehouse.Cluster, server, identity string) error {
	sameServer := server == before.Server && (identity == "" || before.Identity == "" || identity == before.Identity)
	if sameServer || (identity != "" && identity == before.Identity) {
		return nil
	}
	envs, err := queryAll(ctx, q, scanString, `SELECT p.name || '/' || e.name FROM environments e JOIN projects p ON p.id = e.project_id
		WHERE e.cluster_id = $1 ORDER BY p.name, e.name`, before.ID)
	if err != nil {
		return fmt.Errorf("environments of cluster: %w", err)
	}
	if len(envs) == 0 {
		return nil
	}
	why := fmt.Sprintf("API server %s", server)
	if server == before.Server {
		why = fmt.Sprintf("another Kubernetes cluster at %s (kube-system UID %s, was %s)", server, identity, before.Identity)
	}
	return gatehouse.Errorf(gatehouse.KindPreconditionFailed, "cluster %q hosts environments %s: a new kubeconfig may change its "+
		"credentials, not the cluster it reaches (it would reach %s, not %s); register that cluster under a name of its own "+
		"and move the environments to it (a gated change where policies reach them)",
		before.Name, strings.Join(envs, ", "), why, before.Server)
}

// moveClaims carries a cluster's namespace claims to its new server URL, keeping those of the
// old URL while another cluster still uses it.
func (tx *Tx) moveClaims(from, to string, cluster int64) error {
	if from == to {
		return nil
	}
	if _, err := tx.ExecContext(tx.ctx, `INSERT INTO namespace_claims (server, namespace, environment_id, claimed_at)
		SELECT $1, namespace, environment_id, claimed_at FROM namespace_claims WHERE server = $2 ON CONFLICT (server, namespace) DO NOTHING`,
		to, from); err != nil {
		return fmt.Errorf("move namespace claims: %w", err)
	}
	if _, err := tx.ExecContext(tx.ctx, `DELETE FROM namespace_claims WHERE server = $1
		AND NOT EXISTS (SELECT 1 FROM clusters WHERE server = $1 AND id <> $2)`, from, cluster); err != nil {
		return fmt.Errorf("move namespace claims: %w", err)
	}
	return nil
}

// ObserveCluster records the identity a worker read from the cluster it is about to deploy
// to. It is refused (precondition failed, saying why) when another registered cluster has
// that identity — the same Kubernetes cluster under a second name, through which one
// environment could reach another's namespace — or when the cluster was identified before
// as another one: its server now answers as a different cluster. The deployment must then
// not touch it.
func (db *DB) ObserveCluster(ctx context.Context, name, identity string) error {
	c, err := findCluster(ctx, db.r, name)
	if err != nil || c.Identity == identity {
		return err
	}
	ctx = gatehouse.WithActor(ctx, gatehouse.SystemActor())
	return db.write(ctx, func(tx *Tx) error {
		c, err := findCluster(ctx, tx, name)
		if err != nil || c.Identity == identity {
			return err
		}
		if c.Identity != "" {
			return gatehouse.Errorf(gatehouse.KindPreconditionFailed, "cluster %q now answers as another Kubernetes cluster "+
				"(kube-system UID %s, registered as %s): nothing is deployed to it until an administrator gives it a kubeconfig "+
				"of the cluster it was registered as", name, identity, c.Identity)
		}
		if err := sameCluster(ctx, tx, identity, name); err != nil {
			return gatehouse.Errorf(gatehouse.KindPreconditionFailed, "%s", gatehouse.PublicError(err).Message)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE clusters SET identity = $1 WHERE id = $2`, identity, c.ID); err != nil {
			if isUniqueViolation(err) {
				return gatehouse.Errorf(gatehouse.KindPreconditionFailed, "cluster %q reaches a Kubernetes cluster registered under another name", name)
			}
			return fmt.Errorf("record cluster identity: %w", err)
		}
		return tx.audit(change{action: "cluster.identify", resource: "cluster/" + name,
			after: map[string]string{"identity": identity}})
	})
}

// UnidentifiedClusters names the clusters whose identity is not known yet.
func (db *DB) UnidentifiedClusters(ctx context.Context) ([]string, error) {
	out, err := queryAll(ctx, db.r, scanString, `SELECT name FROM clusters WHERE identity IS NULL ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("unidentified clusters: %w", err)
	}
	return out, nil
}
