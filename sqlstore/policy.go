package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/gatehousehq/gatehouse"
)

// PolicyService implements gatehouse.PolicyService.
type PolicyService struct{ db *DB }

// NewPolicyService returns the policy service of db.
func NewPolicyService(db *DB) *PolicyService { return &PolicyService{db: db} }

func scanPolicy(row scanner) (*gatehouse.Policy, error) {
	var p gatehouse.Policy
	var name, description, scope, spec string
	var updated int64
	if err := row.Scan(&p.ID, &name, &description, &scope, &spec, &p.Version, &p.UpdatedBy, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(spec), &p.PolicySpec); err != nil {
		return nil, fmt.Errorf("policy %s: %w", name, err)
	}
	p.Name, p.Description, p.Scope = name, description, scope
	if p.Conditions == nil {
		p.Conditions = []string{}
	}
	if p.Kind == "" {
		p.Kind = gatehouse.PolicyImage
	}
	p.UpdatedAt = fromMicro(updated)
	return &p, nil
}

const policySelect = `SELECT id, name, description, scope, spec, version, updated_by, updated_at FROM policies`

// matchingPolicies returns the policies of the kind whose scope reaches the target, by name.
func matchingPolicies(ctx context.Context, q querier, t gatehouse.Target, kind gatehouse.PolicyKind) ([]*gatehouse.Policy, error) {
	all, err := allPolicies(ctx, q)
	if err != nil {
		return nil, err
	}
	return reaching(all, t, kind), nil
}

// allPolicies reads every policy, by name.
func allPolicies(ctx context.Context, q querier) ([]*gatehouse.Policy, error) {
	all, err := queryAll(ctx, q, scanPolicy, policySelect+` ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("read policies: %w", err)
	}
	return all, nil
}

// reaching keeps the policies of the kind whose scope reaches the target.
func reaching(all []*gatehouse.Policy, t gatehouse.Target, kind gatehouse.PolicyKind) []*gatehouse.Policy {
	return keep(all, func(p *gatehouse.Policy) bool { return p.Reaches(kind, t) })
}

// requireManage checks the caller may manage policies on the scope: manage on its project
// (or on the system, for scopes that reach every project).
func requireManage(a *gatehouse.Actor, sc gatehouse.Scope) error {
	if sc.Project == "*" {
		return a.Require(gatehouse.ActionAdminister, gatehouse.Target{})
	}
	return a.Require(gatehouse.ActionManage, gatehouse.Target{Project: sc.Project})
}

// CreatePolicy implements gatehouse.PolicyService.
func (s *PolicyService) CreatePolicy(ctx context.Context, in gatehouse.PolicySpec) (*gatehouse.Policy, error) {
	return s.save(ctx, "", in)
}

// UpdatePolicy implements gatehouse.PolicyService.
func (s *PolicyService) UpdatePolicy(ctx context.Context, name string, in gatehouse.PolicySpec) (*gatehouse.Policy, error) {
	if in.Name == "" {
		in.Name = name
	}
	if in.Name != name {
		return nil, gatehouse.Invalidf("name", "%q differs from the policy being replaced (%q): policies are not renamed", in.Name, name)
	}
	return s.save(ctx, name, in)
}

// save creates (old == "") or replaces a policy. Open requests the change affects become
// stale in the same transaction: those judged under the old version, and those on stages the
// policy newly reaches.
func (s *PolicyService) save(ctx context.Context, old string, in gatehouse.PolicySpec) (*gatehouse.Policy, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	sc, err := in.Validate()
	if err != nil {
		return nil, err
	}
	if err := requireManage(a, sc); err != nil {
		return nil, err
	}
	in.Scope = sc.String()
	b, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("encode policy: %w", err)
	}
	body := string(b)
	var p *gatehouse.Policy
	err = s.db.write(ctx, func(tx *Tx) error {
		var before *gatehouse.Policy
		if old == "" {
			err = tx.QueryRowContext(ctx, `INSERT INTO policies (name, description, scope, spec, version, updated_by, updated_at)
				VALUES ($1, $2, $3, $4, 1, $5, $6) RETURNING id`, in.Name, in.Description, sc.String(), body, a.UserName, micro(tx.now)).Scan(new(int64))
			if isUniqueViolation(err) {
				return gatehouse.Conflictf("policy %q already exists", in.Name)
			} else if err != nil {
				return fmt.Errorf("insert policy: %w", err)
			}
		} else {
			if before, err = scanPolicy(tx.QueryRowContext(ctx, policySelect+` WHERE name = $1`, old)); err != nil {
				return notFoundOr(err, "policy %q not found", old)
			}
			oldScope, _ := gatehouse.ParseScope("scope", before.Scope)
			if err := requireManage(a, oldScope); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE policies SET description = $1, scope = $2, spec = $3, version = version + 1,
				updated_by = $4, updated_at = $5 WHERE id = $6`, in.Description, sc.String(), body, a.UserName, micro(tx.now), before.ID); err != nil {
				return fmt.Errorf("update policy: %w", err)
			}
		}
		if p, err = scanPolicy(tx.QueryRowContext(ctx, policySelect+` WHERE name = $1`, in.Name)); err != nil {
			return err
		}
		action := "policy.create"
		if before != nil {
			action = "policy.update"
		}
		if err := tx.audit(change{action: action, resource: "policy/" + p.Name, target: scopeTarget(sc), before: before, after: p}); err != nil {
			return err
		}
		if err := tx.staleApprovals(func(r openRequest) bool {
			return r.judgedBy(p.Name) || (p.Kind == gatehouse.PolicyImage && sc.Matches(r.target))
		}, fmt.Sprintf("policy %s changed (now version %d): request approval again", p.Name, p.Version)); err != nil {
			return err
		}
		return tx.recheckDrafts(fmt.Sprintf("policy %s changed (now version %d)", p.Name, p.Version))
	})
	return p, err
}

// Policy implements gatehouse.PolicyService.
func (s *PolicyService) Policy(ctx context.Context, name string) (*gatehouse.Policy, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	p, err := scanPolicy(s.db.r.QueryRowContext(ctx, policySelect+` WHERE name = $1`, name))
	if err != nil {
		return nil, notFoundOr(err, "policy %q not found", name)
	}
	if !visiblePolicy(a, p) {
		return nil, gatehouse.NotFoundf("policy %q not found", name)
	}
	return p, nil
}

// visiblePolicy: a policy is visible to whoever can see any part of what it reaches.
func visiblePolicy(a *gatehouse.Actor, p *gatehouse.Policy) bool {
	sc, err := gatehouse.ParseScope("scope", p.Scope)
	if err != nil {
		return false
	}
	if sc.Project == "*" {
		return len(a.Grants) > 0
	}
	return a.CanSee(gatehouse.Target{Project: sc.Project})
}

// Policies implements gatehouse.PolicyService.
func (s *PolicyService) Policies(ctx context.Context, project string) ([]*gatehouse.Policy, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	all, err := queryAll(ctx, s.db.r, scanPolicy, policySelect+` ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	return keep(all, func(p *gatehouse.Policy) bool {
		sc, _ := gatehouse.ParseScope("scope", p.Scope)
		return visiblePolicy(a, p) && (project == "" || sc.Project == "*" || sc.Project == project)
	}), nil
}

// DeletePolicy implements gatehouse.PolicyService.
func (s *PolicyService) DeletePolicy(ctx context.Context, name string) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	return s.db.write(ctx, func(tx *Tx) error {
		p, err := scanPolicy(tx.QueryRowContext(ctx, policySelect+` WHERE name = $1`, name))
		if err != nil {
			return notFoundOr(err, "policy %q not found", name)
		}
		if !visiblePolicy(a, p) {
			return gatehouse.NotFoundf("policy %q not found", name)
		}
		sc, _ := gatehouse.ParseScope("scope", p.Scope)
		if err := requireManage(a, sc); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM policies WHERE id = $1`, p.ID); err != nil {
			return fmt.Errorf("delete policy: %w", err)
		}
		if err := tx.audit(change{action: "policy.delete", resource: "policy/" + name, target: scopeTarget(sc), before: p}); err != nil {
			return err
		}
		if err := tx.staleApprovals(func(r openRequest) bool { return r.judgedBy(name) },
			fmt.Sprintf("policy %s was deleted: request approval again", name)); err != nil {
			return err
		}
		return tx.recheckDrafts(fmt.Sprintf("policy %s was deleted", name))
	})
}

// openRequest is what deciding staleness needs of an open approval request.
type openRequest struct {
	id       int64
	target   gatehouse.Target
	digest   string
	policies []gatehouse.PolicyRef
}

func (r openRequest) judgedBy(name string) bool {
	return slices.ContainsFunc(r.policies, func(p gatehouse.PolicyRef) bool { return p.Name == name })
}
