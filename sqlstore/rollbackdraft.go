package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

// rollbackKind is the draft kind of a rollback that would apply other configuration than the
// environment's live one (values, the configmap, secrets): where config policies protect
// that configuration, such a rollback is judged by them like any configuration change,
// unless every one of them pre-approves the configuration of rollbacks. Its content names
// the deployment to return to; publishing queues the rollback (the image gate still applies).
type rollbackKind struct{}

// live is what runs in the environment now, as a deployment would apply it: its
// configuration (secret values as marks, so the text changes whenever a secret does) with
// the image of its last successful deployment.
func (rollbackKind) live(ctx context.Context, db *DB, q querier, s subject) (string, error) {
	ec, err := db.effectiveConfig(ctx, q, s.app, s.env)
	if err != nil {
		return "", err
	}
	layers := []gatehouse.Values{ec.values, db.secretMarks(s.app.ID, s.env.ID, ec.secrets)}
	var image string
	err = q.QueryRowContext(ctx, `SELECT values_yaml FROM deployments WHERE app_id = $1 AND environment_id = $2 AND state = 'succeeded'
		ORDER BY id DESC LIMIT 1`, s.app.ID, s.env.ID).Scan(&image)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("last deployment: %w", err)
	}
	if last, err := gatehouse.ParseValues("values", image); err == nil && last["image"] != nil {
		layers = append(layers, gatehouse.Values{"image": last["image"]})
	}
	return gatehouse.RenderValues(gatehouse.MergeValues(layers...)), nil
}

// rollbackTarget is what a rollback draft names: a deployment of the app to the environment
// that succeeded.
type rollbackTarget struct {
	Deployment int64 `json:"deployment"`
}

func (rollbackKind) target(ctx context.Context, q querier, s subject, content string) (*gatehouse.Deployment, error) {
	var t rollbackTarget
	if err := gatehouse.ParseSetting("content", content, &t); err != nil {
		return nil, err
	}
	d, err := findDeployment(ctx, q, t.Deployment)
	if err != nil || d.Project != s.ref.Project || d.App != s.ref.App || d.Environment != s.ref.Environment {
		return nil, gatehouse.Invalidf("deployment", "%d is not a deployment of app %s/%s to %s", t.Deployment, s.ref.Project, s.ref.App, s.ref.Environment)
	}
	if d.State != gatehouse.StateSucceeded {
		return nil, gatehouse.Errorf(gatehouse.KindPreconditionFailed, "deployment %d ended %s: only a deployment that succeeded can be rolled back to", d.ID, d.State)
	}
	return d, nil
}

func (k rollbackKind) prepare(ctx context.Context, _ *DB, q querier, s subject, content, _ string) (string, error) {
	d, err := k.target(ctx, q, s, content)
	if err != nil {
		return "", err
	}
	return renderSetting(rollbackTarget{Deployment: d.ID}), nil
}

// change is what the rollback would apply against what runs now: the image, values by path,
// and which secret keys change (never their values).
func (k rollbackKind) change(ctx context.Context, _ *DB, q querier, s subject, _, toName, live, body string) (*gatehouse.ConfigChange, error) {
	d, err := k.target(ctx, q, s, body)
	if err != nil {
		return nil, err
	}
	ch, err := configChange(gatehouse.ConfigValues, "live", fmt.Sprintf("deployment %d", d.ID), live, d.Values)
	if err != nil {
		return nil, err
	}
	ch.To = toName
	return ch, nil
}

// judges are the config policies that reach the environment, when the rollback would change
// its configuration (the image is the image gate's) and not every one of them pre-approves
// that.
func (rollbackKind) judges(ctx context.Context, _ *DB, q querier, s subject, live, body string, ch *gatehouse.ConfigChange) ([]gatehouse.Judge, error) {
	if live != body && ch != nil && !slices.ContainsFunc(ch.Changes, func(c gatehouse.ValueChange) bool {
		return c.Path != "image" && !strings.HasPrefix(c.Path, "image.")
	}) {
		return nil, nil
	}
	ps, err := matchingPolicies(ctx, q, s.ref.Target(), gatehouse.PolicyConfig)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		if p.ConfigRollback != gatehouse.RollbackPreApproved {
			return judgesOf(s.ref.Target(), ps), nil
		}
	}
	return nil, nil
}

// apply queues the rollback, through the image gate, as the caller.
func (k rollbackKind) apply(tx *Tx, s subject, _, body string, how application) (int64, error) {
	d, err := k.target(tx.ctx, tx, s, body)
	if err != nil {
		return 0, err
	}
	out, err := tx.rollbackTo(s.app, s.env, d, how)
	if err != nil {
		return 0, err
	}
	return out.ID, nil
}

// view masks secret marks: a stable mark is a fingerprint of a value, and what is live is
// shown to anyone who sees the environment.
func (rollbackKind) view(body string) string  { return gatehouse.MaskValues(body) }
func (rollbackKind) action() gatehouse.Action { return gatehouse.ActionDeploy }
func (rollbackKind) sealed() bool             { return false }

// Rollback implements gatehouse.DeploymentService. A rollback that would apply other
// configuration than the live one, where config policies protect it, is refused: it goes
// through a draft of kind rollback that they judge (see rollbackKind).
func (s *DeploymentService) Rollback(ctx context.Context, project, app string, id int64) (*gatehouse.Deployment, error) {
	var d *gatehouse.Deployment
	err := s.db.write(ctx, func(tx *Tx) error {
		old, err := findDeployment(ctx, tx, id)
		if err != nil || old.Project != project || old.App != app {
			return gatehouse.NotFoundf("deployment %d not found in app %s/%s", id, project, app)
		}
		if _, _, _, err := deployable(ctx, tx, project, app, old.Environment); err != nil {
			return err
		}
		sub, err := resolveSubject(ctx, tx, gatehouse.DraftRef{Kind: gatehouse.DraftRollback, Project: project, App: app, Environment: old.Environment})
		if err != nil {
			return err
		}
		made, err := tx.changeDirectly(sub, renderSetting(rollbackTarget{Deployment: id}), "")
		if err != nil {
			return err
		}
		d, err = findDeployment(ctx, tx, made)
		return err
	})
	return maskedDeployment(d), err
}

// rollbackTo queues a deployment of an earlier deployment's artifact, values and secrets to
// its environment, through the stage's gate, as the caller; how says whether an approved
// rollback draft asked for it.
func (tx *Tx) rollbackTo(a *gatehouse.App, e *gatehouse.Environment, old *gatehouse.Deployment, how application) (*gatehouse.Deployment, error) {
	_, _, st, err := deployable(tx.ctx, tx, a.Project, a.Name, e.Name)
	if err != nil {
		return nil, err
	}
	if old.State != gatehouse.StateSucceeded {
		return nil, gatehouse.Errorf(gatehouse.KindPreconditionFailed, "deployment %d ended %s: only a deployment that succeeded can be rolled back to", old.ID, old.State)
	}
	art, err := findArtifact(tx.ctx, tx, a, old.Digest)
	if err != nil {
		return nil, err
	}
	if art.RetractedAt != nil {
		return nil, gatehouse.Errorf(gatehouse.KindPreconditionFailed, "artifact %s of deployment %d was retracted: it cannot be deployed again", art.Digest, old.ID)
	}
	who := gatehouse.ActorFrom(tx.ctx)
	pass, err := tx.gate(a, e, art, who, old)
	if err != nil {
		return nil, err
	}
	secrets, err := tx.db.deploymentSecrets(tx.ctx, tx, old.ID)
	if err != nil {
		return nil, err
	}
	return tx.createDeployment(newDeployment{app: a, env: e, stage: st, artifact: art, values: old.Values, secrets: secrets, revision: old.ConfigRevision,
		kind: gatehouse.KindRollback, rollbackOf: old.ID, by: who.UserName, pass: pass, how: how, manual: true})
}
