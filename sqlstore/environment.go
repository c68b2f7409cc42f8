package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gatehousehq/gatehouse"
)

// EnvironmentService implements gatehouse.EnvironmentService.
type EnvironmentService struct{ db *DB }

// NewEnvironmentService returns the environment service of db.
func NewEnvironmentService(db *DB) *EnvironmentService { return &EnvironmentService{db: db} }

const environmentSelect = `SELECT e.id, p.name, e.name, c.name, e.namespace, e.allow_cluster_scoped, e.allow_namespaces, e.production,
	e.description, e.created_at, e.updated_at
	FROM environments e JOIN projects p ON p.id = e.project_id JOIN clusters c ON c.id = e.cluster_id`

func scanEnvironment(row scanner) (*gatehouse.Environment, error) {
	var e gatehouse.Environment
	var created, updated int64
	var allowed string
	if err := row.Scan(&e.ID, &e.Project, &e.Name, &e.Cluster, &e.Namespace, &e.AllowClusterScoped, &allowed, &e.Production,
		&e.Description, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(allowed), &e.AllowNamespaces); err != nil {
		return nil, fmt.Errorf("environment %s: allowed namespaces: %w", e.Name, err)
	}
	if e.AllowNamespaces == nil {
		e.AllowNamespaces = []string{}
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

// placeEnvironment resolves the cluster and its API server, and checks that (cluster,
// namespace) is not the placement of another environment than self (0 for a new one).
func placeEnvironment(ctx context.Context, q querier, cluster, namespace string, self int64) (clusterID int64, server string, err error) {
	if err := q.QueryRowContext(ctx, `SELECT id, server FROM clusters WHERE name = $1`, cluster).Scan(&clusterID, &server); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, "", gatehouse.Invalidf("cluster", "cluster %q is not registered: expected the name of a registered cluster", cluster)
		}
		return 0, "", fmt.Errorf("find cluster: %w", err)
	}
	var owner string
	err = q.QueryRowContext(ctx, `SELECT p.name || '/' || e.name FROM environments e JOIN projects p ON p.id = e.project_id
		WHERE e.cluster_id = $1 AND e.namespace = $2 AND e.id <> $3`, clusterID, namespace, self).Scan(&owner)
	switch {
	case err == nil:
		return 0, "", gatehouse.Conflictf("namespace %q of cluster %q is already environment %s", namespace, cluster, owner)
	case !errors.Is(err, sql.ErrNoRows):
		return 0, "", fmt.Errorf("check namespace: %w", err)
	}
	return clusterID, server, nil
}

// CreateEnvironment implements gatehouse.EnvironmentService. A namespace that an environment
// which policies protect has used is not taken by a new environment: the new one is created
// elsewhere and moved there through a draft that those policies judge.
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
		clusterID, server, err := placeEnvironment(ctx, tx, in.Cluster, in.Namespace, 0)
		if err != nil {
			return err
		}
		if owner, err := namespaceOwner(ctx, tx, server, in.Namespace, 0); err != nil {
			return err
		} else if owner != nil {
			protected, err := protectedEnv(ctx, tx, owner.project, owner.name)
			if err != nil {
				return err
			}
			if protected {
				return gatehouse.Errorf(gatehouse.KindPreconditionFailed, "namespace %q of cluster %q was used by environment %s/%s, which policies protect: "+
					"create the environment elsewhere and move it there with a draft (gatehouse env update --namespace … --propose), which they judge",
					in.Namespace, in.Cluster, owner.project, owner.name)
			}
		}
		e = &gatehouse.Environment{Project: project, Name: in.Name, Placement: gatehouse.Placement{Cluster: in.Cluster, Namespace: in.Namespace,
			AllowNamespaces: []string{}}, Production: in.Production, Description: in.Description, CreatedAt: tx.now, UpdatedAt: tx.now}
		err = tx.QueryRowContext(ctx, `INSERT INTO environments (project_id, name, cluster_id, namespace, production, description, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id`, p.ID, e.Name, clusterID, e.Namespace, e.Production, e.Description, micro(tx.now)).Scan(&e.ID)
		if isUniqueViolation(err) {
			return gatehouse.Conflictf("environment %q already exists in project %q", in.Name, project)
		} else if err != nil {
			return fmt.Errorf("insert environment: %w", err)
		}
		if err := tx.claimNamespace(server, e.Namespace, e.ID); err != nil {
			return err
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

// UpdateEnvironment implements gatehouse.EnvironmentService. The placement changes directly
// only where nothing protects it (see environmentKind); elsewhere it takes a draft, and the
// update is refused whole.
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
		if place, set := in.Place(before.Placement); set {
			sub, err := resolveSubject(ctx, tx, gatehouse.DraftRef{Kind: gatehouse.DraftEnvironment, Project: project, Environment: name})
			if err != nil {
				return err
			}
			if _, err := tx.changeDirectly(sub, renderSetting(place), ""); err != nil {
				return err
			}
		}
		e, err := findEnvironment(ctx, tx, project, name)
		if err != nil {
			return err
		}
		if in.Production == nil && in.Description == nil {
			after = e
			return nil
		}
		was := *e
		if in.Production != nil {
			e.Production = *in.Production
		}
		if in.Description != nil {
			e.Description = *in.Description
		}
		e.UpdatedAt = tx.now
		if _, err := tx.ExecContext(ctx, `UPDATE environments SET production = $1, description = $2, updated_at = $3 WHERE id = $4`,
			e.Production, e.Description, micro(tx.now), e.ID); err != nil {
			return fmt.Errorf("update environment: %w", err)
		}
		after = e
		return tx.audit(change{action: "environment.update", resource: "environment/" + project + "/" + name, target: e.Target(), before: &was, after: e})
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
		if err := tx.dropBallots(`environment_id = $1`, e.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM environments WHERE id = $1`, e.ID); err != nil {
			return fmt.Errorf("delete environment: %w", err)
		}
		return tx.audit(change{action: "environment.delete", resource: "environment/" + project + "/" + name, target: e.Target(), before: e})
	})
}

// dropBallots deletes the votes and links of the drafts that where selects, before those
// drafts go with what they belong to (votes and links name ballots of either flow, so no
// foreign key removes them).
func (tx *Tx) dropBallots(where string, args ...any) error {
	for _, table := range []string{"ballot_votes", "ballot_links"} {
		if _, err := tx.ExecContext(tx.ctx, `DELETE FROM `+table+` WHERE flow = 'draft' AND ballot_id IN (SELECT id FROM drafts WHERE `+where+`)`, args...); err != nil {
			return fmt.Errorf("drop draft %s: %w", table, err)
		}
	}
	return nil
}
