package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

func deploymentSecretsAAD(id int64) string { return fmt.Sprintf("deployment:%d:secrets", id) }

// deploymentSecrets unseals the secret settings a deployment was made with.
func (db *DB) deploymentSecrets(ctx context.Context, q querier, id int64) (map[string]string, error) {
	var sealed string
	if err := q.QueryRowContext(ctx, `SELECT secrets_sealed FROM deployments WHERE id = $1`, id).Scan(&sealed); err != nil {
		return nil, notFoundOr(err, "deployment %d not found", id)
	}
	if sealed == "" {
		return map[string]string{}, nil
	}
	pt, err := db.secrets.Open(sealed, deploymentSecretsAAD(id))
	if err != nil {
		return nil, fmt.Errorf("unseal secrets of deployment %d: %w", id, err)
	}
	return gatehouse.ParseSettings("secrets", string(pt))
}

// configSinceLast compares a new deployment's values with those of the environment's last
// successful deployment: what changed in its configuration (secret values masked, the image
// left out: it is compared on its own), and that deployment's configuration revision.
func (tx *Tx) configSinceLast(n newDeployment) ([]gatehouse.ValueChange, int64, error) {
	var prevValues string
	var prevRevision int64
	err := tx.QueryRowContext(tx.ctx, `SELECT values_yaml, config_revision FROM deployments WHERE app_id = $1 AND environment_id = $2
		AND state = 'succeeded' ORDER BY id DESC LIMIT 1`, n.app.ID, n.env.ID).Scan(&prevValues, &prevRevision)
	if errors.Is(err, sql.ErrNoRows) {
		return []gatehouse.ValueChange{}, 0, nil
	} else if err != nil {
		return nil, 0, fmt.Errorf("last deployment: %w", err)
	}
	a, err := gatehouse.ParseValues("previous values", prevValues)
	if err != nil {
		return nil, 0, err
	}
	b, err := gatehouse.ParseValues("values", n.values)
	if err != nil {
		return nil, 0, err
	}
	delete(a, "image")
	delete(b, "image")
	changes := gatehouse.MaskChanges(gatehouse.DiffValues(a, b))
	if changes == nil {
		changes = []gatehouse.ValueChange{}
	}
	return changes, prevRevision, nil
}

// configChangedText is the deployment event that says its configuration changed.
func configChangedText(changes []gatehouse.ValueChange, from, to int64) string {
	paths := make([]string, 0, len(changes))
	for _, c := range changes {
		paths = append(paths, c.Path+" "+string(c.Kind))
	}
	const show = 10
	more := ""
	if len(paths) > show {
		more = fmt.Sprintf(" and %d more", len(paths)-show)
		paths = paths[:show]
	}
	return fmt.Sprintf("config changed since last deploy (revision %d → %d): %s%s", from, to, strings.Join(paths, ", "), more)
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "null"
	}
	return string(b)
}
