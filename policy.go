package gatehouse

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// RuleKind says who may satisfy an approval rule.
type RuleKind string

// The rule kinds.
const (
	RuleAny   RuleKind = "any"   // Count people holding image-approver on the stage
	RuleGroup RuleKind = "group" // Count people of Group (who hold image-approver on the stage)
	RuleUsers RuleKind = "users" // every one of Users
)

// Rule is one requirement of a policy.
type Rule struct {
	Kind  RuleKind `json:"kind"`
	Count int      `json:"count,omitempty"`
	Group string   `json:"group,omitempty"`
	Users []string `json:"users,omitempty"`
}

// String describes the rule for people: "2 approvers", "1 from group sre", "alice and bob".
func (r Rule) String() string {
	switch r.Kind {
	case RuleGroup:
		return fmt.Sprintf("%d from group %s", r.Count, r.Group)
	case RuleUsers:
		return strings.Join(r.Users, " and ")
	}
	return plural(r.Count, "approver")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// RollbackMode says whether rolling back to an approved, deployed artifact needs approval.
type RollbackMode string

// The rollback modes.
const (
	RollbackNeedsApproval RollbackMode = "approval"     // like any deploy (the default)
	RollbackPreApproved   RollbackMode = "pre-approved" // an artifact approved and deployed before on the stage goes through
)

// DefaultApprovalExpiry is how long an approval request lives unless its policies say otherwise.
const DefaultApprovalExpiry = 72 * time.Hour

// Policy says who must approve images bound for the stages its scope reaches; every policy
// whose scope reaches a stage must be met. The separation-of-duty switches are all off by
// default, which means the separations are all in force. Version counts changes: a request
// judged under an older version is stale.
type Policy struct {
	ID int64 `json:"id"`
	PolicySpec
	Version   int64     `json:"version"`
	UpdatedBy string    `json:"updated_by"`
	UpdatedAt time.Time `json:"updated_at"`
}

// PolicyKind says what a policy gates: images bound for a stage, or configuration changes
// of an environment (a config policy is what makes an environment protected).
type PolicyKind string

// The policy kinds.
const (
	PolicyImage  PolicyKind = "image"
	PolicyConfig PolicyKind = "config"
	// PolicyLockout is never stored: it is the kind of the rule that judges a policy change
	// once the policy's own approvers are all gone (see LockoutPolicy). Its approvers are
	// people who manage the policy's scope.
	PolicyLockout PolicyKind = "lockout"
)

// ApproveAction is the action whose holders approve under policies of the kind.
func (k PolicyKind) ApproveAction() Action {
	switch k {
	case PolicyConfig:
		return ActionApproveConfig
	case PolicyLockout:
		return ActionManage
	}
	return ActionApproveImage
}

// ApproverRole is the role whose holders approve under policies of the kind (for messages;
// for the lock-out rule, admin stands for every role that manages).
func (k PolicyKind) ApproverRole() Role {
	switch k {
	case PolicyConfig:
		return RoleConfigApprover
	case PolicyLockout:
		return RoleAdmin
	}
	return RoleImageApprover
}

// RiskRule adds rules to a config policy for changes its condition picks out: a CEL
// expression over `change` (change.labels: the risk labels, e.g. "secrets", "image", "rbac",
// "scale-to-zero"; change.paths: the changed paths; change.kind: values, configmap or secrets).
type RiskRule struct {
	When  string `json:"when"`
	Rules []Rule `json:"rules"`
}

// PolicySpec is a policy's content: the input that creates or replaces one.
type PolicySpec struct {
	Name                string       `json:"name"`
	Description         string       `json:"description"`
	Kind                PolicyKind   `json:"kind"`
	Scope               string       `json:"scope"`
	Rules               []Rule       `json:"rules"`
	Risks               []RiskRule   `json:"risks,omitempty"`
	RequesterMayApprove bool         `json:"requester_may_approve"`
	BuilderMayApprove   bool         `json:"builder_may_approve"`
	ApproverMayDeploy   bool         `json:"approver_may_deploy"`
	CountAcrossRules    bool         `json:"count_across_rules"`
	Expiry              string       `json:"expiry"`
	Conditions          []string     `json:"conditions"`
	Rollback            RollbackMode `json:"rollback"`
	// ConfigRollback, for a config policy, says whether a rollback that would apply other
	// configuration than the live one needs this policy's approval (the default) or goes
	// through pre-approved.
	ConfigRollback RollbackMode `json:"config_rollback,omitempty"`
	// ReviewApprovers is how many of the policy's approvers must acknowledge each use of
	// break-glass that passed over it (default 1), within ReviewWithin (default 72h).
	ReviewApprovers int    `json:"review_approvers,omitempty"`
	ReviewWithin    string `json:"review_within,omitempty"`
}

// DefaultReviewWithin is how long the approvers of a policy that break-glass passed over have
// to acknowledge it, unless the policy says otherwise.
const DefaultReviewWithin = 72 * time.Hour

// ReviewCount is how many approvers must acknowledge a use of break-glass that passed over
// the policy.
func (p *PolicySpec) ReviewCount() int { return max(p.ReviewApprovers, 1) }

// ReviewPeriod is how long they have.
func (p *PolicySpec) ReviewPeriod() time.Duration {
	if d, err := time.ParseDuration(p.ReviewWithin); err == nil && d > 0 {
		return d
	}
	return DefaultReviewWithin
}

// Reaches reports whether the policy is of the kind and its scope reaches the target: a
// policy that gates the target's images (PolicyImage) or protects its configuration.
func (p *PolicySpec) Reaches(kind PolicyKind, t Target) bool {
	sc, err := ParseScope("scope", p.Scope)
	return err == nil && p.Kind == kind && sc.Matches(t)
}

// Validate checks every field, fills defaults (expiry 72h, rollback needs approval) and
// returns the parsed scope. Conditions must compile.
func (in *PolicySpec) Validate() (Scope, error) {
	if err := ValidateName("name", in.Name); err != nil {
		return Scope{}, err
	}
	if err := validateText("description", in.Description, 1024); err != nil {
		return Scope{}, err
	}
	sc, err := ParseScope("scope", in.Scope)
	if err != nil {
		return Scope{}, err
	}
	switch in.Kind {
	case "":
		in.Kind = PolicyImage
	case PolicyImage:
		if len(in.Risks) > 0 {
			return Scope{}, Invalidf("risks", "only config policies have risk rules")
		}
	case PolicyConfig:
		if len(in.Conditions) > 0 {
			return Scope{}, Invalidf("conditions", "only image policies have artifact conditions: a config policy uses risks")
		}
		for i, rr := range in.Risks {
			f := fmt.Sprintf("risks[%d]", i)
			if _, err := CompileChangeCondition(f+".when", rr.When); err != nil {
				return Scope{}, err
			}
			if len(rr.Rules) == 0 || len(rr.Rules) > 10 {
				return Scope{}, Invalidf(f+".rules", "has %d rules: expected 1 to 10", len(rr.Rules))
			}
			for j := range rr.Rules {
				if err := in.Risks[i].Rules[j].validate(fmt.Sprintf("%s.rules[%d]", f, j)); err != nil {
					return Scope{}, err
				}
			}
		}
	default:
		return Scope{}, Invalidf("kind", "%q is not a policy kind: expected image or config", in.Kind)
	}
	if len(in.Rules) == 0 || len(in.Rules) > 10 {
		return Scope{}, Invalidf("rules", "has %d rules: expected 1 to 10", len(in.Rules))
	}
	for i := range in.Rules {
		if err := in.Rules[i].validate(fmt.Sprintf("rules[%d]", i)); err != nil {
			return Scope{}, err
		}
	}
	switch in.Expiry {
	case "":
		in.Expiry = DefaultApprovalExpiry.String()
	case "none":
	default:
		if d, err := time.ParseDuration(in.Expiry); err != nil || d < time.Minute || d > 90*24*time.Hour {
			return Scope{}, Invalidf("expiry", "%q is not an expiry: expected a duration from 1m to 2160h, or \"none\"", in.Expiry)
		}
	}
	switch in.Rollback {
	case "":
		in.Rollback = RollbackNeedsApproval
	case RollbackNeedsApproval, RollbackPreApproved:
	default:
		return Scope{}, Invalidf("rollback", "%q is not a rollback mode: expected approval or pre-approved", in.Rollback)
	}
	switch {
	case in.ConfigRollback == "" && in.Kind == PolicyConfig:
		in.ConfigRollback = RollbackNeedsApproval
	case in.ConfigRollback == "":
	case in.Kind != PolicyConfig:
		return Scope{}, Invalidf("config_rollback", "only config policies judge the configuration of rollbacks: expected it empty")
	case in.ConfigRollback != RollbackNeedsApproval && in.ConfigRollback != RollbackPreApproved:
		return Scope{}, Invalidf("config_rollback", "%q is not a rollback mode: expected approval or pre-approved", in.ConfigRollback)
	}
	if in.ReviewApprovers < 0 || in.ReviewApprovers > 10 {
		return Scope{}, Invalidf("review_approvers", "is %d: expected 1 to 10 (0 for the default, 1)", in.ReviewApprovers)
	}
	if d, err := time.ParseDuration(in.ReviewWithin); in.ReviewWithin != "" && (err != nil || d < time.Hour || d > 30*24*time.Hour) {
		return Scope{}, Invalidf("review_within", "%q is not a review period: expected a duration from 1h to 720h (default 72h)", in.ReviewWithin)
	}
	if _, err := CompileConditions("conditions", in.Conditions); err != nil {
		return Scope{}, err
	}
	if in.Conditions == nil {
		in.Conditions = []string{} // as stored: no condition reads the same however it was written
	}
	return sc, nil
}

func (r *Rule) validate(field string) error {
	switch r.Kind {
	case RuleAny, RuleGroup:
		if r.Count < 1 || r.Count > 10 {
			return Invalidf(field+".count", "%d: expected 1 to 10 approvals", r.Count)
		}
		if r.Kind == RuleGroup {
			if err := ValidateName(field+".group", r.Group); err != nil {
				return err
			}
		} else if r.Group != "" {
			return Invalidf(field+".group", "a rule of kind any names no group: expected kind group")
		}
		if len(r.Users) > 0 {
			return Invalidf(field+".users", "only rules of kind users name users")
		}
	case RuleUsers:
		if len(r.Users) == 0 || len(r.Users) > 10 {
			return Invalidf(field+".users", "names %d users: expected 1 to 10", len(r.Users))
		}
		for j, u := range r.Users {
			if err := ValidateUserName(fmt.Sprintf("%s.users[%d]", field, j), u); err != nil {
				return err
			}
		}
		if len(slices.Compact(slices.Sorted(slices.Values(r.Users)))) != len(r.Users) {
			return Invalidf(field+".users", "names a user twice")
		}
		if r.Count != 0 || r.Group != "" {
			return Invalidf(field, "a rule of kind users takes no count or group: every named user must approve")
		}
	default:
		return Invalidf(field+".kind", "%q is not a rule kind: expected any, group or users", r.Kind)
	}
	return nil
}

// ExpiryDuration is how long the policy lets an approval request live (0: no limit).
func (p *Policy) ExpiryDuration() time.Duration {
	if p.Expiry == "none" {
		return 0
	}
	d, err := time.ParseDuration(p.Expiry)
	if err != nil {
		return DefaultApprovalExpiry
	}
	return d
}

// PolicyService manages approval policies. Changing a policy needs manage on its scope
// (super-admin for the global scope); anyone who can see a stage can read the policies that
// gate it.
type PolicyService interface {
	// CreatePolicy creates a policy. Errors: invalid input (naming the rule or condition);
	// forbidden; conflict when the name is taken.
	CreatePolicy(ctx context.Context, in PolicySpec) (*Policy, error)
	// Policy returns a policy. Errors: not found.
	Policy(ctx context.Context, name string) (*Policy, error)
	// Policies lists the policies the caller may see; project filters to those reaching it.
	Policies(ctx context.Context, project string) ([]*Policy, error)
	// UpdatePolicy replaces a policy (same name) and bumps its version; pending and approved
	// requests judged under it become stale. Errors: as CreatePolicy; not found.
	UpdatePolicy(ctx context.Context, name string, in PolicySpec) (*Policy, error)
	// DeletePolicy deletes a policy; requests judged under it become stale. Errors: not found;
	// forbidden.
	DeletePolicy(ctx context.Context, name string) error
}
