package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

// ValuesValidator checks values against an app's chart (its values.schema.json), returning an
// invalid error that names the path. The store calls it, when set, on every values or
// configmap change.
type ValuesValidator func(ctx context.Context, chart gatehouse.Chart, values gatehouse.Values) error

// SetValuesValidator installs the chart schema check.
func (db *DB) SetValuesValidator(v ValuesValidator) { db.validate = v }

// liveRef is a configuration resource resolved to its app and environment (nil for the base).
type liveRef struct {
	ref gatehouse.ConfigRef
	app *gatehouse.App
	env *gatehouse.Environment
}

func (l liveRef) envID() int64 {
	if l.env == nil {
		return 0
	}
	return l.env.ID
}

func (l liveRef) resource() string {
	where := l.ref.Environment
	if where == "" {
		where = "base"
	}
	return fmt.Sprintf("config/%s/%s/%s/%s", l.ref.Project, l.ref.App, where, l.ref.Kind)
}

// changeableConfig is resolveConfig for a change: the caller must hold manage on the resource.
func changeableConfig(ctx context.Context, q querier, ref gatehouse.ConfigRef) (*gatehouse.Actor, liveRef, error) {
	who, l, err := resolveConfig(ctx, q, ref)
	if err != nil {
		return nil, l, err
	}
	return who, l, who.Require(gatehouse.ActionManage, ref.Target())
}

// resolveConfig reads the app and environment a resource belongs to; an app or environment
// the caller may not see is not found.
func resolveConfig(ctx context.Context, q querier, ref gatehouse.ConfigRef) (*gatehouse.Actor, liveRef, error) {
	if err := ref.Validate(); err != nil {
		return nil, liveRef{}, err
	}
	who, app, err := visibleApp(ctx, q, ref.Project, ref.App)
	if err != nil {
		return nil, liveRef{}, err
	}
	l := liveRef{ref: ref, app: app}
	if ref.Environment != "" {
		if l.env, err = findEnvironment(ctx, q, ref.Project, ref.Environment); err != nil {
			return nil, liveRef{}, err
		}
		if !who.CanSee(ref.Target()) {
			return nil, liveRef{}, gatehouse.NotFoundf("environment %q not found in project %q", ref.Environment, ref.Project)
		}
	}
	return who, l, nil
}

func secretsAAD(appID, envID int64) string { return fmt.Sprintf("config:%d:%d:secrets", appID, envID) }

// readItem returns an environment resource's stored body as plain text ("" when unset).
func (db *DB) readItem(ctx context.Context, q querier, appID, envID int64, kind gatehouse.ConfigKind) (string, error) {
	var body string
	err := q.QueryRowContext(ctx, `SELECT body FROM config_items WHERE app_id = $1 AND environment_id = $2 AND kind = $3`,
		appID, envID, kind).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("read %s: %w", kind, err)
	}
	if kind != gatehouse.ConfigSecrets {
		return body, nil
	}
	pt, err := db.secrets.Open(body, secretsAAD(appID, envID))
	if err != nil {
		return "", fmt.Errorf("unseal secrets of app %d in environment %d: %w", appID, envID, err)
	}
	return string(pt), nil
}

// readLive returns a resource's live content as plain text (secret values included).
func (db *DB) readLive(ctx context.Context, q querier, l liveRef) (string, error) {
	if l.env == nil {
		return l.app.Values, nil
	}
	return db.readItem(ctx, q, l.app.ID, l.env.ID, l.ref.Kind)
}

// writeLive stores a resource's content and bumps the app's configuration revision.
func (tx *Tx) writeLive(l liveRef, content string) (int64, error) {
	var err error
	switch {
	case l.env == nil:
		_, err = tx.ExecContext(tx.ctx, `UPDATE apps SET values_yaml = $1 WHERE id = $2`, content, l.app.ID)
	case content == "":
		_, err = tx.ExecContext(tx.ctx, `DELETE FROM config_items WHERE app_id = $1 AND environment_id = $2 AND kind = $3`,
			l.app.ID, l.env.ID, l.ref.Kind)
	default:
		body := content
		if l.ref.Kind == gatehouse.ConfigSecrets {
			body = tx.db.secrets.Seal([]byte(content), secretsAAD(l.app.ID, l.env.ID))
		}
		_, err = tx.ExecContext(tx.ctx, `INSERT INTO config_items (app_id, environment_id, kind, body) VALUES ($1, $2, $3, $4)
			ON CONFLICT (app_id, environment_id, kind) DO UPDATE SET body = excluded.body`, l.app.ID, l.env.ID, l.ref.Kind, body)
	}
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", l.ref.Kind, err)
	}
	var rev int64
	if err := tx.QueryRowContext(tx.ctx, `UPDATE apps SET config_revision = config_revision + 1, updated_at = $1 WHERE id = $2
		RETURNING config_revision`, micro(tx.now), l.app.ID).Scan(&rev); err != nil {
		return 0, fmt.Errorf("bump config revision: %w", err)
	}
	return rev, nil
}

// prepareContent checks new content for a resource and returns it as stored: values as
// written; settings canonical (sorted), with secrets given as Masked resolved against prev.
// Values and configmaps are checked against the chart's schema, layered as a deployment
// would layer them.
func (db *DB) prepareContent(ctx context.Context, q querier, l liveRef, content, prev string) (string, error) {
	switch l.ref.Kind {
	case gatehouse.ConfigValues:
		v, err := gatehouse.ParseValues("content", content)
		if err != nil {
			return "", err
		}
		if err := gatehouse.RefuseSecretValues("content", v); err != nil {
			return "", err
		}
		return content, db.checkSchema(ctx, q, l, content)
	case gatehouse.ConfigMapData:
		s, err := gatehouse.ParseSettings("content", content)
		if err != nil {
			return "", err
		}
		out := gatehouse.RenderSettings(s, false)
		return out, db.checkSchema(ctx, q, l, out)
	}
	s, err := gatehouse.ParseSettings("content", content)
	if err != nil {
		return "", err
	}
	old, err := gatehouse.ParseSettings("secrets", prev)
	if err != nil {
		return "", fmt.Errorf("stored secrets: %w", err)
	}
	if s, err = gatehouse.KeepMasked("content", s, old); err != nil {
		return "", err
	}
	return gatehouse.RenderSettings(s, false), nil
}

// checkSchema validates the values the resource's environment would get with content in
// place of the resource's current content.
func (db *DB) checkSchema(ctx context.Context, q querier, l liveRef, content string) error {
	if db.validate == nil {
		return nil
	}
	layers := map[gatehouse.ConfigKind]string{}
	base := l.app.Values
	if l.env == nil {
		base = content
	} else {
		for _, k := range []gatehouse.ConfigKind{gatehouse.ConfigValues, gatehouse.ConfigMapData} {
			cur, err := db.readItem(ctx, q, l.app.ID, l.env.ID, k)
			if err != nil {
				return err
			}
			layers[k] = cur
		}
		layers[l.ref.Kind] = content
	}
	merged, err := mergeConfig(base, layers[gatehouse.ConfigValues], layers[gatehouse.ConfigMapData])
	if err != nil {
		return err
	}
	return db.validate(ctx, l.app.Chart, merged)
}

// mergeConfig layers an environment's configuration: base values ← its values overrides ←
// its configmap (as the chart's `config`).
func mergeConfig(base, overrides, configmap string) (gatehouse.Values, error) {
	b, err := gatehouse.ParseValues("values", base)
	if err != nil {
		return nil, err
	}
	o, err := gatehouse.ParseValues("overrides", overrides)
	if err != nil {
		return nil, err
	}
	cm, err := gatehouse.ParseSettings("configmap", configmap)
	if err != nil {
		return nil, err
	}
	layers := []gatehouse.Values{b, o}
	if len(cm) > 0 {
		m := map[string]any{}
		for k, v := range cm {
			m[k] = v
		}
		layers = append(layers, gatehouse.Values{gatehouse.ConfigMapValuesKey: m})
	}
	return gatehouse.MergeValues(layers...), nil
}

// viewContent renders content for people: secret values masked.
func viewContent(kind gatehouse.ConfigKind, plain string) string {
	switch kind {
	case gatehouse.ConfigSecrets:
		s, err := gatehouse.ParseSettings("secrets", plain)
		if err != nil {
			return "# secrets withheld: they do not parse\n"
		}
		return gatehouse.RenderSettings(s, true)
	case gatehouse.ConfigValues:
		if v, err := gatehouse.ParseValues("values", plain); err != nil || v[gatehouse.SecretValuesKey] != nil {
			return gatehouse.MaskValues(plain)
		}
	}
	return plain
}

func contentHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// configPolicies returns the config policies that protect a resource: those reaching its
// environment, or for the base values, those reaching any environment of the project for the
// app (the base flows into every environment).
func configPolicies(ctx context.Context, q querier, l liveRef) ([]*gatehouse.Policy, error) {
	if l.env != nil {
		return matchingPolicies(ctx, q, l.ref.Target(), gatehouse.PolicyConfig)
	}
	envs, err := queryAll(ctx, q, scanString, `SELECT e.name FROM environments e JOIN projects p ON p.id = e.project_id
		WHERE p.name = $1 ORDER BY e.name`, l.ref.Project)
	if err != nil {
		return nil, fmt.Errorf("environments: %w", err)
	}
	var out []*gatehouse.Policy
	for _, e := range envs {
		ps, err := matchingPolicies(ctx, q, gatehouse.Target{Project: l.ref.Project, App: l.ref.App, Env: e}, gatehouse.PolicyConfig)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if !slices.ContainsFunc(out, func(x *gatehouse.Policy) bool { return x.ID == p.ID }) {
				out = append(out, p)
			}
		}
	}
	slices.SortFunc(out, func(a, b *gatehouse.Policy) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func policyNames(ps []*gatehouse.Policy) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}
