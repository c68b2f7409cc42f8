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
	if err := keepName("policy", &in.Name, name); err != nil {
		return nil, err
	}
	return s.save(ctx, name, in)
}

// save creates (old == "") or replaces a policy. A new policy, or a replacement at least as
// strict, applies at once; a replacement that loosens the policy is refused: it goes through
// a draft that the policy's own approvers judge (see policyKind).
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
	var p *gatehouse.Policy
	err = s.db.write(ctx, func(tx *Tx) error {
		if old == "" {
			err := tx.insertPolicy(in)
			if err != nil {
				return err
			}
		} else {
			sub, err := resolveSubject(ctx, tx, gatehouse.DraftRef{Kind: gatehouse.DraftPolicy, Policy: old})
			if err != nil {
				return err
			}
			if err := requireWrite(a, policyKind{}, sub); err != nil {
				return err
			}
			if _, err := tx.changeDirectly(sub, renderSetting(in), ""); err != nil {
				return err
			}
		}
		p, err = scanPolicy(tx.QueryRowContext(ctx, policySelect+` WHERE name = $1`, in.Name))
		return err
	})
	return p, err
}

// insertPolicy creates a policy (which only ever adds requirements), audited; open requests
// and drafts it now judges are judged again.
func (tx *Tx) insertPolicy(in gatehouse.PolicySpec) error {
	sc, err := gatehouse.ParseScope("scope", in.Scope)
	if err != nil {
		return err
	}
	err = tx.QueryRowContext(tx.ctx, `INSERT INTO policies (name, description, scope, spec, version, updated_by, updated_at)
		VALUES ($1, $2, $3, $4, 1, $5, $6) RETURNING id`, in.Name, in.Description, in.Scope, jsonText(in),
		gatehouse.ActorFrom(tx.ctx).UserName, micro(tx.now)).Scan(new(int64))
	if isUniqueViolation(err) {
		return gatehouse.Conflictf("policy %q already exists", in.Name)
	} else if err != nil {
		return fmt.Errorf("insert policy: %w", err)
	}
	p, err := scanPolicy(tx.QueryRowContext(tx.ctx, policySelect+` WHERE name = $1`, in.Name))
	if err != nil {
		return err
	}
	if err := tx.audit(change{action: "policy.create", resource: "policy/" + p.Name, target: scopeTarget(sc), after: p}); err != nil {
		return err
	}
	return tx.policyChanged(p, sc, 0)
}

// replacePolicy replaces a policy's content and bumps its version, audited with how.
func (tx *Tx) replacePolicy(before *gatehouse.Policy, in gatehouse.PolicySpec, how application) error {
	sc, err := gatehouse.ParseScope("scope", in.Scope)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(tx.ctx, `UPDATE policies SET description = $1, scope = $2, spec = $3, version = version + 1,
		updated_by = $4, updated_at = $5 WHERE id = $6`, in.Description, in.Scope, jsonText(in), gatehouse.ActorFrom(tx.ctx).UserName,
		micro(tx.now), before.ID); err != nil {
		return fmt.Errorf("update policy: %w", err)
	}
	p, err := scanPolicy(tx.QueryRowContext(tx.ctx, policySelect+` WHERE id = $1`, before.ID))
	if err != nil {
		return err
	}
	if err := tx.audit(change{action: "policy.update", resource: "policy/" + p.Name, target: scopeTarget(sc), before: before, after: p,
		details: nonEmptyAny(how.details(nil))}); err != nil {
		return err
	}
	return tx.policyChanged(p, sc, how.draft)
}

// policyChanged makes open requests the policy now judges differently stale — those judged
// under its older version, and those on stages it newly reaches — and judges open drafts
// again (but except, the draft that made the change).
func (tx *Tx) policyChanged(p *gatehouse.Policy, sc gatehouse.Scope, except int64) error {
	if err := tx.staleApprovals(func(r openRequest) bool {
		return r.judgedBy(p.Name) || (p.Kind == gatehouse.PolicyImage && sc.Matches(r.target))
	}, fmt.Sprintf("policy %s changed (now version %d): request approval again", p.Name, p.Version)); err != nil {
		return err
	}
	return tx.recheckDrafts(fmt.Sprintf("policy %s changed (now version %d)", p.Name, p.Version), except)
}

// deletePolicy deletes a policy, audited with how; requests it judged become stale.
func (tx *Tx) deletePolicy(p *gatehouse.Policy, how application) error {
	sc, _ := gatehouse.ParseScope("scope", p.Scope)
	if _, err := tx.ExecContext(tx.ctx, `DELETE FROM policies WHERE id = $1`, p.ID); err != nil {
		return fmt.Errorf("delete policy: %w", err)
	}
	if err := tx.audit(change{action: "policy.delete", resource: "policy/" + p.Name, target: scopeTarget(sc), before: p,
		details: nonEmptyAny(how.details(nil))}); err != nil {
		return err
	}
	if err := tx.staleApprovals(func(r openRequest) bool { return r.judgedBy(p.Name) },
		fmt.Sprintf("policy %s was deleted: request approval again", p.Name)); err != nil {
		return err
	}
	return tx.recheckDrafts(fmt.Sprintf("policy %s was deleted", p.Name), how.draft)
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

// keepName fills a replacement's empty name with the name of the setting it replaces (a
// policy, a window) and refuses another: such settings are not renamed.
func keepName(what string, in *string, name string) error {
	if *in == "" {
		*in = name
	}
	if *in != name {
		return gatehouse.Invalidf("name", "%q differs from the %s being replaced (%q): a %s is not renamed", *in, what, name, what)
	}
	return nil
}

// visiblePolicy: a policy is visible to whoever can see any part of what it reaches.
func visiblePolicy(a *gatehouse.Actor, p *gatehouse.Policy) bool { return visibleScope(a, p.Scope) }

// visibleScope: a setting with a scope (a policy, a window) is visible to whoever can see any
// part of what the scope reaches.
func visibleScope(a *gatehouse.Actor, scope string) bool {
	sc, err := gatehouse.ParseScope("scope", scope)
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

// DeletePolicy implements gatehouse.PolicyService. Deleting lets everything the policy held
// back through, so it is always a draft the policy's own approvers judge; here it is refused.
func (s *PolicyService) DeletePolicy(ctx context.Context, name string) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	return s.db.write(ctx, func(tx *Tx) error {
		sub, err := resolveSubject(ctx, tx, gatehouse.DraftRef{Kind: gatehouse.DraftPolicy, Policy: name})
		if err != nil {
			return err
		}
		if err := requireWrite(a, policyKind{}, sub); err != nil {
			return err
		}
		_, err = tx.changeDirectly(sub, "", "")
		return err
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
