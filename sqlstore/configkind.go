package sqlstore

import (
	"context"

	"github.com/gatehousehq/gatehouse"
)

// configKind is the draft kind of a configuration resource: base values, an environment's
// value overrides, ConfigMap data or secrets. Config policies protect it; their risk rules
// add rules for the change at hand.
type configKind struct{ kind gatehouse.ConfigKind }

func (k configKind) liveRef(s subject) liveRef {
	return liveRef{ref: gatehouse.ConfigRef{Project: s.ref.Project, App: s.ref.App, Environment: s.ref.Environment, Kind: k.kind},
		app: s.app, env: s.env}
}

func (k configKind) live(ctx context.Context, db *DB, q querier, s subject) (string, error) {
	return db.readLive(ctx, q, k.liveRef(s))
}

func (k configKind) prepare(ctx context.Context, db *DB, q querier, s subject, content, prev string) (string, error) {
	return db.prepareContent(ctx, q, k.liveRef(s), content, prev)
}

func (k configKind) change(_ context.Context, _ *DB, _ querier, _ subject, fromName, toName, a, b string) (*gatehouse.ConfigChange, error) {
	return configChange(k.kind, fromName, toName, a, b)
}

func (k configKind) judges(ctx context.Context, _ *DB, q querier, s subject, _, _ string, ch *gatehouse.ConfigChange) ([]gatehouse.Judge, error) {
	policies, err := configPolicies(ctx, q, k.liveRef(s))
	if err != nil {
		return nil, err
	}
	for i, p := range policies {
		if ch != nil {
			policies[i] = p.ForChange(k.kind, ch.Labels, ch.Changes)
		}
	}
	return judgesOf(s.ref.Target(), policies), nil
}

// apply writes the content live, bumps the app's configuration revision and audits the
// change (secret values masked).
func (k configKind) apply(tx *Tx, s subject, live, body string, how application) (int64, error) {
	l := k.liveRef(s)
	rev, err := tx.writeLive(l, body)
	if err != nil {
		return 0, err
	}
	ch, err := configChange(k.kind, "before", "after", live, body)
	if err != nil {
		return 0, err
	}
	action := "config.set"
	if how.published() {
		action = "config.publish"
	}
	return rev, tx.audit(change{action: action, resource: l.resource(), target: s.ref.Target(),
		before:  map[string]any{"content": viewContent(k.kind, live)},
		after:   map[string]any{"content": viewContent(k.kind, body), "revision": rev},
		details: how.details(map[string]any{"changes": ch.Changes, "labels": ch.Labels})})
}

func (k configKind) view(body string) string { return viewContent(k.kind, body) }

func (k configKind) action() gatehouse.Action { return gatehouse.ActionManage }

func (k configKind) sealed() bool { return k.kind == gatehouse.ConfigSecrets }
