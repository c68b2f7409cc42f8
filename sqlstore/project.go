package sqlstore

import (
	"context"
	"fmt"

	"github.com/gatehousehq/gatehouse"
)

// ProjectService implements gatehouse.ProjectService.
type ProjectService struct{ db *DB }

// NewProjectService returns the project service of db.
func NewProjectService(db *DB) *ProjectService { return &ProjectService{db: db} }

const projectColumns = `id, name, description, created_at, updated_at`

func scanProject(row scanner) (*gatehouse.Project, error) {
	var p gatehouse.Project
	var created, updated int64
	if err := row.Scan(&p.ID, &p.Name, &p.Description, &created, &updated); err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt = fromMicro(created), fromMicro(updated)
	return &p, nil
}

// findProject reads a project by name; not found is a domain error.
func findProject(ctx context.Context, q querier, name string) (*gatehouse.Project, error) {
	p, err := scanProject(q.QueryRowContext(ctx, `SELECT `+projectColumns+` FROM projects WHERE name = $1`, name))
	if err != nil {
		return nil, notFoundOr(err, "project %q not found", name)
	}
	return p, nil
}

// visibleProject reads a project the caller may see; one it may not see is "not found", so
// names do not leak.
func visibleProject(ctx context.Context, q querier, name string) (*gatehouse.Actor, *gatehouse.Project, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, nil, err
	}
	p, err := findProject(ctx, q, name)
	if err != nil {
		return nil, nil, err
	}
	if !a.CanSee(gatehouse.Target{Project: name}) {
		return nil, nil, gatehouse.NotFoundf("project %q not found", name)
	}
	return a, p, nil
}

// CreateProject implements gatehouse.ProjectService.
func (s *ProjectService) CreateProject(ctx context.Context, in gatehouse.ProjectCreate) (*gatehouse.Project, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.Require(gatehouse.ActionManage, gatehouse.Target{}); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var p *gatehouse.Project
	err = s.db.write(ctx, func(tx *Tx) error {
		p = &gatehouse.Project{Name: in.Name, Description: in.Description, CreatedAt: tx.now, UpdatedAt: tx.now}
		err := tx.QueryRowContext(ctx, `INSERT INTO projects (name, description, created_at, updated_at)
			VALUES ($1, $2, $3, $3) RETURNING id`, p.Name, p.Description, micro(tx.now)).Scan(&p.ID)
		if isUniqueViolation(err) {
			return gatehouse.Conflictf("project %q already exists", in.Name)
		} else if err != nil {
			return fmt.Errorf("insert project: %w", err)
		}
		return tx.audit(change{action: "project.create", resource: "project/" + p.Name, target: gatehouse.Target{Project: p.Name}, after: p})
	})
	return p, err
}

// Project implements gatehouse.ProjectService.
func (s *ProjectService) Project(ctx context.Context, name string) (*gatehouse.Project, error) {
	_, p, err := visibleProject(ctx, s.db.r, name)
	return p, err
}

// Projects implements gatehouse.ProjectService.
func (s *ProjectService) Projects(ctx context.Context) ([]*gatehouse.Project, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	all, err := queryAll(ctx, s.db.r, scanProject, `SELECT `+projectColumns+` FROM projects ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	return keep(all, func(p *gatehouse.Project) bool { return a.CanSee(gatehouse.Target{Project: p.Name}) }), nil
}

// UpdateProject implements gatehouse.ProjectService.
func (s *ProjectService) UpdateProject(ctx context.Context, name string, in gatehouse.ProjectUpdate) (*gatehouse.Project, error) {
	var after *gatehouse.Project
	err := s.db.write(ctx, func(tx *Tx) error {
		a, before, err := visibleProject(ctx, tx, name)
		if err != nil {
			return err
		}
		if err := a.Require(gatehouse.ActionManage, gatehouse.Target{Project: name}); err != nil {
			return err
		}
		if err := in.Validate(); err != nil {
			return err
		}
		p := *before
		if in.Description != nil {
			p.Description = *in.Description
		}
		p.UpdatedAt = tx.now
		if _, err := tx.ExecContext(ctx, `UPDATE projects SET description = $1, updated_at = $2 WHERE id = $3`,
			p.Description, micro(tx.now), p.ID); err != nil {
			return fmt.Errorf("update project: %w", err)
		}
		after = &p
		return tx.audit(change{action: "project.update", resource: "project/" + name, target: gatehouse.Target{Project: name}, before: before, after: after})
	})
	return after, err
}

// DeleteProject implements gatehouse.ProjectService.
func (s *ProjectService) DeleteProject(ctx context.Context, name string) error {
	return s.db.write(ctx, func(tx *Tx) error {
		a, p, err := visibleProject(ctx, tx, name)
		if err != nil {
			return err
		}
		if err := a.Require(gatehouse.ActionManage, gatehouse.Target{}); err != nil {
			return err
		}
		var apps, envs int
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM apps WHERE project_id = $1),
			(SELECT COUNT(*) FROM environments WHERE project_id = $1)`, p.ID).Scan(&apps, &envs); err != nil {
			return fmt.Errorf("count project contents: %w", err)
		}
		if apps+envs > 0 {
			return gatehouse.Conflictf("project %q still has %d apps and %d environments: delete them first", name, apps, envs)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM projects WHERE id = $1`, p.ID); err != nil {
			return fmt.Errorf("delete project: %w", err)
		}
		return tx.audit(change{action: "project.delete", resource: "project/" + name, target: gatehouse.Target{Project: name}, before: p})
	})
}
