package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gatehousehq/gatehouse"
)

// EnvironmentService implements gatehouse.EnvironmentService.
type EnvironmentService struct{ db *DB }

// NewEnvironmentService returns the environment service of db.
func NewEnvironmentService(db *DB) *EnvironmentService { return &EnvironmentService{db: db} }

const environmentSelect = `SELECT e.id, p.name, e.name, c.name, e.namespace, e.production, e.description, e.created_at, e.updated_at
	FROM environments e JOIN projects p ON p.id = e.project_id JOIN clusters c ON c.id = e.cluster_id`

func scanEnvironment(row scanner) (*gatehouse.Environment, error) {
	var e gatehouse.Environment
	var created, updated int64
	if err := row.Scan(&e.ID, &e.Project, &e.Name, &e.Cluster, &e.Namespace, &e.Production, &e.Description, &created, &updated); err != nil {
		return nil, err
	}
	e.CreatedAt, e.UpdatedAt = fromMicro(created), fromMicro(updated)
	return &e, nil
}

func findEnvironment(ctx context.Context, q querier, project, name string) (*gatehouse.Environment, error) {
	e, err := scanEnvironment(q.QueryRowContext(ctx, environmentSelect+` WHERE p.name = $1 AND e.name = $2`, project, name))
	if err != nil {
		return nil, notFoundOr(err, "environment %q not found in project %q", name, project)
	}
	return e, nil
}

// placeEnvironment resolves the cluster and checks that (cluster, namespace) is free for the
// environment with id self (0 for a new one).
func placeEnvironment(ctx context.Context, q querier, cluster, namespace string, self int64) (clusterID int64, err error) {
	if err := q.QueryRowContext(ctx, `SELECT id FROM clusters WHERE name = $1`, cluster).Scan(&clusterID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, gatehouse.Invalidf("cluster", "cluster %q is not registered: expected the name of a registered cluster", cluster)
		}
		return 0, fmt.Errorf("find cluster: %w", err)
	}
	var owner string
	err = q.QueryRowContext(ctx, `SELECT p.name || '/' || e.name FROM environments e JOIN projects p ON p.id = e.project_id
		WHERE e.cluster_id = $1 AND e.namespace = $2 AND e.id <> $3`, clusterID, namespace, self).Scan(&owner)
	switch {
	case err == nil:
		return 0, gatehouse.Conflictf("namespace %q of cluster %q is already environment %s", namespace, cluster, owner)
	case !errors.Is(err, sql.ErrNoRows):
		return 0, fmt.Errorf("check namespace: %w", err)
	}
	return clusterID, nil
}

// CreateEnvironment implements gatehouse.EnvironmentService.
func (s *EnvironmentService) CreateEnvironment(ctx context.Context, project string, in gatehouse.EnvironmentCreate) (*gatehouse.Environment, error) {
	var e *gatehouse.Environment
	err := s.db.write(ctx, func(tx *Tx) error {
		a, p, err := visibleProject(ctx, tx, project)
		if err != nil {
			return err
		}
		if err := a.Require(gatehouse.ActionManage, gatehouse.Target{Project: project}); err != nil {
			return err
		}
		if err := in.Validate(); err != nil {
			return err
		}
		clusterID, err := placeEnvironment(ctx, tx, in.Cluster, in.Namespace, 0)
		if err != nil {
			return err
		}
		e = &gatehouse.Environment{Project: project, Name: in.Name, Cluster: in.Cluster, Namespace: in.Namespace,
			Production: in.Production, Description: in.Description, CreatedAt: tx.now, UpdatedAt: tx.now}
		err = tx.QueryRowContext(ctx, `INSERT INTO environments (project_id, name, cluster_id, namespace, production, description, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id`, p.ID, e.Name, clusterID, e.Namespace, e.Production, e.Description, micro(tx.now)).Scan(&e.ID)
		if isUniqueViolation(err) {
			return gatehouse.Conflictf("environment %q already exists in project %q", in.Name, project)
		} else if err != nil {
			return fmt.Errorf("insert environment: %w", err)
		}
		return tx.audit(change{action: "environment.create", resource: "environment/" + project + "/" + e.Name, target: e.Target(), after: e})
	})
	return e, err
}

// Environment implements gatehouse.EnvironmentService.
func (s *EnvironmentService) Environment(ctx context.Context, project, name string) (*gatehouse.Environment, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	e, err := findEnvironment(ctx, s.db.r, project, name)
	if err != nil {
		return nil, err
	}
	if !a.CanSee(e.Target()) {
		return nil, gatehouse.NotFoundf("environment %q not found in project %q", name, project)
	}
	return e, nil
}

// Environments implements gatehouse.EnvironmentService.
func (s *EnvironmentService) Environments(ctx context.Context, project string) ([]*gatehouse.Environment, error) {
	a, _, err := visibleProject(ctx, s.db.r, project)
	if err != nil {
		return nil, err
	}
	all, err := queryAll(ctx, s.db.r, scanEnvironment, environmentSelect+` WHERE p.name = $1 ORDER BY e.name`, project)
	if err != nil {
		return nil, fmt.Errorf("list environments: %w", err)
	}
	return keep(all, func(e *gatehouse.Environment) bool { return a.CanSee(e.Target()) }), nil
}

// UpdateEnvironment implements gatehouse.EnvironmentService.
func (s *EnvironmentService) UpdateEnvironment(ctx context.Context, project, name string, in gatehouse.EnvironmentUpdate) (*gatehouse.Environment, error) {
	var after *gatehouse.Environment
	err := s.db.write(ctx, func(tx *Tx) error {
		a, _, err := visibleProject(ctx, tx, project)
		if err != nil {
			return err
		}
		before, err := findEnvironment(ctx, tx, project, name)
		if err != nil {
			return err
		}
		if err := a.Require(gatehouse.ActionManage, before.Target()); err != nil {
			return err
		}
		if err := in.Validate(); err != nil {
			return err
		}
		e := *before
		for _, f := range []struct {
			dst *string
			src *string
		}{{&e.Cluster, in.Cluster}, {&e.Namespace, in.Namespace}, {&e.Description, in.Description}} {
			if f.src != nil {
				*f.dst = *f.src
			}
		}
		if in.Production != nil {
			e.Production = *in.Production
		}
		e.UpdatedAt = tx.now
		clusterID, err := placeEnvironment(ctx, tx, e.Cluster, e.Namespace, e.ID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE environments SET cluster_id = $1, namespace = $2, production = $3,
			description = $4, updated_at = $5 WHERE id = $6`, clusterID, e.Namespace, e.Production, e.Description, micro(tx.now), e.ID); err != nil {
			return fmt.Errorf("update environment: %w", err)
		}
		after = &e
		return tx.audit(change{action: "environment.update", resource: "environment/" + project + "/" + name, target: e.Target(), before: before, after: after})
	})
	return after, err
}

// DeleteEnvironment implements gatehouse.EnvironmentService.
func (s *EnvironmentService) DeleteEnvironment(ctx context.Context, project, name string) error {
	return s.db.write(ctx, func(tx *Tx) error {
		a, _, err := visibleProject(ctx, tx, project)
		if err != nil {
			return err
		}
		e, err := findEnvironment(ctx, tx, project, name)
		if err != nil {
			return err
		}
		if err := a.Require(gatehouse.ActionManage, gatehouse.Target{Project: project}); err != nil {
			return err
		}
		apps, err := queryAll(ctx, tx, scanString, `SELECT a.name FROM pipeline_stages s JOIN apps a ON a.id = s.app_id
			WHERE s.environment_id = $1 ORDER BY a.name`, e.ID)
		if err != nil {
			return fmt.Errorf("find stages: %w", err)
		}
		if len(apps) > 0 {
			return gatehouse.Conflictf("environment %q is a stage of the pipelines of apps %v: remove those stages first", name, apps)
		}
		var deployments int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM deployments WHERE environment_id = $1`, e.ID).Scan(&deployments); err != nil {
			return fmt.Errorf("count deployments: %w", err)
		}
		if deployments > 0 {
			return gatehouse.Conflictf("environment %q has %d deployments: environments with a deployment history are kept", name, deployments)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM environments WHERE id = $1`, e.ID); err != nil {
			return fmt.Errorf("delete environment: %w", err)
		}
		return tx.audit(change{action: "environment.delete", resource: "environment/" + project + "/" + name, target: e.Target(), before: e})
	})
}
