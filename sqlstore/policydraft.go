package sqlstore

import (
	"context"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

// policyKind is the draft kind of a change that loosens a policy, or deletes it (empty
// content). Such a change is judged by the policy itself — its own rules, counting its own
// approvers on its own reach — and never by its authors; when nobody who could meet its
// rules is left, by the lock-out rule (see gatehouse.LockoutPolicy). A change that only
// tightens needs no draft.
type policyKind struct{ setting }

func (policyKind) live(_ context.Context, _ *DB, _ querier, s subject) (string, error) {
	return renderSetting(s.policy.PolicySpec), nil
}

// prepare reads a replacement of the policy, or "" for its deletion.
func (policyKind) prepare(_ context.Context, _ *DB, _ querier, s subject, content, _ string) (string, error) {
	next, err := parsePolicy(s.policy.Name, content)
	if err != nil || next == nil {
		return "", err
	}
	return renderSetting(next), nil
}

// parsePolicy reads a policy's replacement (nil for "": deletion), checked and with its
// defaults filled.
func parsePolicy(name, content string) (*gatehouse.PolicySpec, error) {
	if strings.TrimSpace(content) == "" {
		return nil, nil
	}
	var next gatehouse.PolicySpec
	if err := gatehouse.ParseSetting("content", content, &next); err != nil {
		return nil, err
	}
	if err := keepName("policy", &next.Name, name); err != nil {
		return nil, err
	}
	sc, err := next.Validate()
	if err != nil {
		return nil, err
	}
	next.Scope = sc.String()
	return &next, nil
}

// change compares the policy with its replacement by path, labelled with the ways the
// replacement loosens it.
func (policyKind) change(_ context.Context, _ *DB, _ querier, s subject, fromName, toName, a, b string) (*gatehouse.ConfigChange, error) {
	ch, err := settingChange(fromName, toName, a, b)
	if err != nil {
		return nil, err
	}
	was, err := parsePolicy(s.policy.Name, a)
	if err != nil || was == nil {
		return ch, err
	}
	next, err := parsePolicy(s.policy.Name, b)
	if err != nil {
		return nil, err
	}
	ch.Labels = append(ch.Labels, was.Loosenings(next)...)
	return ch, nil
}

func (policyKind) judges(_ context.Context, _ *DB, _ querier, s subject, live, body string, _ *gatehouse.ConfigChange) ([]gatehouse.Judge, error) {
	was, err := parsePolicy(s.policy.Name, live)
	if err != nil {
		return nil, err
	}
	next, err := parsePolicy(s.policy.Name, body)
	if err != nil {
		return nil, err
	}
	if live != body && len(was.Loosenings(next)) == 0 {
		return nil, nil
	}
	return []gatehouse.Judge{{Policy: s.policy, Target: judgeTarget(gatehouse.Target{}, s.policy)}}, nil
}

func (policyKind) apply(tx *Tx, s subject, _, body string, how application) (int64, error) {
	next, err := parsePolicy(s.policy.Name, body)
	if err != nil {
		return 0, err
	}
	if next == nil {
		return 0, tx.deletePolicy(s.policy, how)
	}
	return 0, tx.replacePolicy(s.policy, *next, how)
}
