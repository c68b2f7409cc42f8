package sqlstore

import (
	"context"
	"fmt"

	"github.com/gatehousehq/gatehouse"
)

// ClusterService implements gatehouse.ClusterService. Kubeconfigs are sealed with the keyring,
// bound to the cluster's name.
type ClusterService struct{ db *DB }

// NewClusterService returns the cluster service of db.
func NewClusterService(db *DB) *ClusterService { return &ClusterService{db: db} }

const clusterColumns = `id, name, description, server, COALESCE(identity, ''), created_at, updated_at`

func scanCluster(row scanner) (*gatehouse.Cluster, error) {
	var c gatehouse.Cluster
	var created, updated int64
	if err := row.Scan(&c.ID, &c.Name, &c.Description, &c.Server, &c.Identity, &created, &updated); err != nil {
		return nil, err
	}
	c.CreatedAt, c.UpdatedAt = fromMicro(created), fromMicro(updated)
	return &c, nil
}

func findCluster(ctx context.Context, q querier, name string) (*gatehouse.Cluster, error) {
	c, err := scanCluster(q.QueryRowContext(ctx, `SELECT `+clusterColumns+` FROM clusters WHERE name = $1`, name))
	if err != nil {
		return nil, notFoundOr(err, "cluster %q not found", name)
	}
	return c, nil
}

func kubeconfigAAD(name string) string { return "cluster/" + name + "/kubeconfig" }

// CreateCluster implements gatehouse.ClusterService.
func (s *ClusterService) CreateCluster(ctx context.Context, in gatehouse.ClusterCreate) (*gatehouse.Cluster, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.Require(gatehouse.ActionAdminister, gatehouse.Target{}); err != nil {
		return nil, err
	}
	server, err := in.Validate()
	if err != nil {
		return nil, err
	}
	sealed := s.db.secrets.Seal([]byte(in.Kubeconfig.Reveal()), kubeconfigAAD(in.Name))
	identity := s.db.identifyCluster(ctx, in.Name, in.Kubeconfig)
	var c *gatehouse.Cluster
	err = s.db.write(ctx, func(tx *Tx) error {
		c = &gatehouse.Cluster{Name: in.Name, Description: in.Description, Server: server, Identity: identity, CreatedAt: tx.now, UpdatedAt: tx.now}
		if err := sameCluster(ctx, tx, identity, in.Name); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO clusters (name, description, server, identity, kubeconfig_sealed, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`, c.Name, c.Description, c.Server, nullText(identity), sealed, micro(tx.now)).Scan(&c.ID)
		if isUniqueViolation(err) {
			return gatehouse.Conflictf("cluster %q already exists", in.Name)
		} else if err != nil {
			return fmt.Errorf("insert cluster: %w", err)
		}
		return tx.audit(change{action: "cluster.create", resource: "cluster/" + c.Name, after: c,
			details: map[string]string{"kubeconfig": gatehouse.Masked + " set"}})
	})
	return c, err
}

// Cluster implements gatehouse.ClusterService.
func (s *ClusterService) Cluster(ctx context.Context, name string) (*gatehouse.Cluster, error) {
	if _, err := actor(ctx); err != nil {
		return nil, err
	}
	return findCluster(ctx, s.db.r, name)
}

// Clusters implements gatehouse.ClusterService.
func (s *ClusterService) Clusters(ctx context.Context) ([]*gatehouse.Cluster, error) {
	if _, err := actor(ctx); err != nil {
		return nil, err
	}
	out, err := queryAll(ctx, s.db.r, scanCluster, `SELECT `+clusterColumns+` FROM clusters ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list clusters: %w", err)
	}
	return out, nil
}

// UpdateCluster implements gatehouse.ClusterService.
func (s *ClusterService) UpdateCluster(ctx context.Context, name string, in gatehouse.ClusterUpdate) (*gatehouse.Cluster, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.Require(gatehouse.ActionAdminister, gatehouse.Target{}); err != nil {
		return nil, err
	}
	server, err := in.Validate()
	if err != nil {
		return nil, err
	}
	identity := ""
	if in.Kubeconfig != nil {
		identity = s.db.identifyCluster(ctx, name, *in.Kubeconfig)
	}
	var after *gatehouse.Cluster
	err = s.db.write(ctx, func(tx *Tx) error {
		before, err := findCluster(ctx, tx, name)
		if err != nil {
			return err
		}
		c := *before
		c.UpdatedAt = tx.now
		if in.Description != nil {
			c.Description = *in.Description
		}
		var details map[string]string
		if in.Kubeconfig != nil {
			if err := repointed(ctx, tx, before, server, identity); err != nil {
				return err
			}
			if err := sameCluster(ctx, tx, identity, name); err != nil {
				return err
			}
			c.Server = server
			if identity != "" {
				c.Identity = identity
			}
			sealed := s.db.secrets.Seal([]byte(in.Kubeconfig.Reveal()), kubeconfigAAD(name))
			if _, err := tx.ExecContext(ctx, `UPDATE clusters SET kubeconfig_sealed = $1, identity = $2 WHERE id = $3`,
				sealed, nullText(c.Identity), c.ID); err != nil {
				return fmt.Errorf("update cluster: %w", err)
			}
			if err := tx.moveClaims(before.Server, c.Server, c.ID); err != nil {
				return err
			}
			details = map[string]string{"kubeconfig": gatehouse.Masked + " changed"}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE clusters SET description = $1, server = $2, updated_at = $3 WHERE id = $4`,
			c.Description, c.Server, micro(tx.now), c.ID); err != nil {
			return fmt.Errorf("update cluster: %w", err)
		}
		after = &c
		return tx.audit(change{action: "cluster.update", resource: "cluster/" + name, before: before, after: after, details: details})
	})
	return after, err
}

// DeleteCluster implements gatehouse.ClusterService.
func (s *ClusterService) DeleteCluster(ctx context.Context, name string) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	if err := a.Require(gatehouse.ActionAdminister, gatehouse.Target{}); err != nil {
		return err
	}
	return s.db.write(ctx, func(tx *Tx) error {
		c, err := findCluster(ctx, tx, name)
		if err != nil {
			return err
		}
		var envs int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM environments WHERE cluster_id = $1`, c.ID).Scan(&envs); err != nil {
			return fmt.Errorf("count environments: %w", err)
		}
		if envs > 0 {
			return gatehouse.Conflictf("cluster %q is used by %d environments: move or delete them first", name, envs)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM clusters WHERE id = $1`, c.ID); err != nil {
			return fmt.Errorf("delete cluster: %w", err)
		}
		return tx.audit(change{action: "cluster.delete", resource: "cluster/" + name, before: c})
	})
}

// Kubeconfig returns a cluster's kubeconfig for the deploy engine. It is not part of any API:
// no request can read it. Errors: not found; internal when it cannot be unsealed.
func (db *DB) Kubeconfig(ctx context.Context, cluster string) (gatehouse.Secret, error) {
	var sealed string
	err := db.r.QueryRowContext(ctx, `SELECT kubeconfig_sealed FROM clusters WHERE name = $1`, cluster).Scan(&sealed)
	if err != nil {
		return gatehouse.Secret{}, notFoundOr(err, "cluster %q not found", cluster)
	}
	pt, err := db.secrets.Open(sealed, kubeconfigAAD(cluster))
	if err != nil {
		return gatehouse.Secret{}, fmt.Errorf("unseal kubeconfig of cluster %q: %w", cluster, err)
	}
	return gatehouse.NewSecret(string(pt)), nil
}
