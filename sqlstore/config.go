package sqlstore

import (
	"context"
	"maps"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/textdiff"
)

// ConfigService implements gatehouse.ConfigService.
type ConfigService struct{ db *DB }

// NewConfigService returns the configuration service of db.
func NewConfigService(db *DB) *ConfigService { return &ConfigService{db: db} }

// Config implements gatehouse.ConfigService.
func (s *ConfigService) Config(ctx context.Context, ref gatehouse.ConfigRef) (*gatehouse.Config, error) {
	if err := ref.Validate(); err != nil {
		return nil, err
	}
	return s.db.live(ctx, s.db.r, ref.Draft())
}

// SetConfig implements gatehouse.ConfigService.
func (s *ConfigService) SetConfig(ctx context.Context, ref gatehouse.ConfigRef, in gatehouse.ConfigWrite) (*gatehouse.Config, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var out *gatehouse.Config
	err := s.db.write(ctx, func(tx *Tx) error {
		_, l, err := changeableConfig(ctx, tx, ref)
		if err != nil {
			return err
		}
		if err := tx.setConfig(l, in.Content, in.Comment); err != nil {
			return err
		}
		out, err = tx.db.live(ctx, tx, ref.Draft())
		return err
	})
	return out, err
}

// setConfig replaces an unprotected resource's content, bumps the revision and audits the
// change (secret values masked); a protected one changes only through a draft. Unchanged
// content changes nothing.
func (tx *Tx) setConfig(l liveRef, content, comment string) error {
	_, err := tx.changeDirectly(subject{ref: l.ref.Draft(), app: l.app, env: l.env}, content, comment)
	return err
}

// CompareConfig implements gatehouse.ConfigService.
func (s *ConfigService) CompareConfig(ctx context.Context, project, app, from, to string) (*gatehouse.ConfigChange, error) {
	// An empty name would mean the base values: comparing is between environments only.
	if err := gatehouse.ValidateName("from", from); err != nil {
		return nil, err
	}
	if err := gatehouse.ValidateName("to", to); err != nil {
		return nil, err
	}
	var docs [2]string
	for i, env := range []string{from, to} {
		_, l, err := resolveConfig(ctx, s.db.r, gatehouse.ConfigRef{Project: project, App: app, Environment: env, Kind: gatehouse.ConfigValues})
		if err != nil {
			return nil, err
		}
		ec, err := s.db.effectiveConfig(ctx, s.db.r, l.app, l.env)
		if err != nil {
			return nil, err
		}
		// Keys only: marks differ between environments whatever the values, and a comparison
		// that told equal from different would let whoever writes one environment's secrets
		// test guesses of the other's.
		docs[i] = gatehouse.RenderValues(gatehouse.MergeValues(ec.values, gatehouse.SecretKeys(ec.secrets)))
	}
	c, err := configChange(gatehouse.ConfigValues, from, to, docs[0], docs[1])
	if err != nil {
		return nil, err
	}
	c.SecretsByKey = true
	return c, nil
}

// configChange compares two plain contents of a resource kind for people: by path, as lines,
// with risk labels; secret values never appear, only which keys changed.
func configChange(kind gatehouse.ConfigKind, fromName, toName, a, b string) (*gatehouse.ConfigChange, error) {
	c := &gatehouse.ConfigChange{From: fromName, To: toName}
	var ta, tb string
	switch kind {
	case gatehouse.ConfigValues:
		va, err := gatehouse.ParseValues(fromName, a)
		if err != nil {
			return nil, err
		}
		vb, err := gatehouse.ParseValues(toName, b)
		if err != nil {
			return nil, err
		}
		c.Changes = gatehouse.MaskChanges(gatehouse.DiffValues(va, vb))
		ta, tb = viewContent(kind, a), viewContent(kind, b)
	default:
		sa, err := gatehouse.ParseSettings(fromName, a)
		if err != nil {
			return nil, err
		}
		sb, err := gatehouse.ParseSettings(toName, b)
		if err != nil {
			return nil, err
		}
		secret := kind == gatehouse.ConfigSecrets
		c.Changes = gatehouse.DiffSettings(sa, sb, secret)
		ta, tb = gatehouse.RenderSettings(sa, secret), gatehouse.RenderSettings(sb, secret)
		if secret {
			shown := maps.Clone(sb)
			for k, v := range sb {
				shown[k] = gatehouse.Masked
				if old, ok := sa[k]; ok && old != v {
					shown[k] = gatehouse.Masked + " (changed)"
				}
			}
			tb = gatehouse.RenderSettings(shown, false)
		}
	}
	c.Labels = gatehouse.RiskLabels(kind, c.Changes)
	return lines(c, ta, tb), nil
}

// lines completes a change with its line views of the two documents (as shown: secret
// values already masked), and empty lists rather than none.
func lines(c *gatehouse.ConfigChange, a, b string) *gatehouse.ConfigChange {
	if c.Changes == nil {
		c.Changes = []gatehouse.ValueChange{}
	}
	if c.Labels == nil {
		c.Labels = []string{}
	}
	c.Unified = textdiff.Unified(c.From, c.To, a, b, 3)
	c.SideBySide = []gatehouse.DiffRow{}
	if len(c.Changes) > 0 {
		for _, r := range textdiff.SideBySide(a, b) {
			c.SideBySide = append(c.SideBySide, gatehouse.DiffRow{Op: r.Op, Left: r.Left, Right: r.Right, LeftNo: r.LeftNo, RightNo: r.RightNo})
		}
	}
	return c
}

// effective is an environment's configuration as a deployment takes it.
type effective struct {
	values  gatehouse.Values  // base ← overrides ← configmap
	secrets map[string]string // the secrets resource
}

// effectiveConfig reads an environment's configuration now.
func (db *DB) effectiveConfig(ctx context.Context, q querier, app *gatehouse.App, env *gatehouse.Environment) (effective, error) {
	var e effective
	var layers [3]string
	for i, k := range gatehouse.ConfigKinds {
		var err error
		if layers[i], err = db.readItem(ctx, q, app.ID, env.ID, k); err != nil {
			return e, err
		}
	}
	var err error
	if e.values, err = mergeConfig(app.Values, layers[0], layers[1]); err != nil {
		return e, err
	}
	e.secrets, err = gatehouse.ParseSettings("secrets", layers[2])
	return e, err
}
