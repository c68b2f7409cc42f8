package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

// passage is how a deployment got through its stage's gate.
type passage struct {
	approval    *approvalRow // the approved request it consumes
	preApproved bool         // a rollback its policies let through without a fresh approval
}

// gate decides whether a deployment of art to the stage may start: ungated stages pass; a
// gated one needs an approved, unexpired request for this very digest under the policies'
// current versions, still met with approvers eligible now, and a deployer who did not approve
// it (unless a policy allows that). deployer is nil for the pipeline. rollbackOf is the
// deployment a rollback redeploys. Refusals say what is missing.
func (tx *Tx) gate(app *gatehouse.App, env *gatehouse.Environment, art *gatehouse.Artifact, deployer *gatehouse.Actor, rollbackOf *gatehouse.Deployment) (passage, error) {
	t := gatehouse.Target{Project: app.Project, App: app.Name, Env: env.Name}
	policies, err := matchingPolicies(tx.ctx, tx, t, gatehouse.PolicyImage)
	if err != nil || len(policies) == 0 {
		return passage{}, err
	}
	if err := conditionsHold(policies, art); err != nil {
		return passage{}, err
	}
	if rollbackOf != nil && !slices.ContainsFunc(policies, func(p *gatehouse.Policy) bool { return p.Rollback != gatehouse.RollbackPreApproved }) {
		var gated bool
		if err := tx.QueryRowContext(tx.ctx, `SELECT approval_id IS NOT NULL OR pre_approved FROM deployments WHERE id = $1`, rollbackOf.ID).Scan(&gated); err != nil {
			return passage{}, fmt.Errorf("rollback target: %w", err)
		}
		if gated {
			return passage{preApproved: true}, nil
		}
	}
	gatedBy := "gated by " + refText(refs(policies))
	r, err := scanApproval(tx.QueryRowContext(tx.ctx, approvalSelect+` WHERE a.app_id = $1 AND a.environment_id = $2 AND a.digest = $3
		AND a.state IN ('pending', 'approved')`+tx.db.dialect.forUpdateOf("a"), app.ID, env.ID, art.Digest))
	if err != nil {
		if err := notFoundOr(err, ""); gatehouse.KindOf(err) != gatehouse.KindNotFound {
			return passage{}, err
		}
		return passage{}, gatehouse.Errorf(gatehouse.KindPreconditionFailed,
			"environment %s of app %s is %s: no open approval request for %s (raise one with `gatehouse approval request`)", env.Name, app.Name, gatedBy, art.Digest)
	}
	full, err := findApproval(tx.ctx, tx, r.ID, "")
	if err != nil {
		return passage{}, err
	}
	if full.ExpiresAt != nil && !tx.now.Before(*full.ExpiresAt) {
		return passage{}, gatehouse.Errorf(gatehouse.KindPreconditionFailed, "approval request %d expired: request approval again", r.ID)
	}
	st, err := requestStanding(tx.ctx, tx, full, nil)
	if err != nil {
		return passage{}, err
	}
	if st.Stale != "" {
		return passage{}, gatehouse.Errorf(gatehouse.KindPreconditionFailed, "approval request %d is stale: %s", r.ID, st.Stale)
	}
	j, err := judge(tx.ctx, tx, st, full.Votes)
	if err != nil {
		return passage{}, err
	}
	if !j.met() {
		state := "pending"
		if full.State == gatehouse.ApprovalApproved {
			state = "no longer met (approvers lost their eligibility)"
		}
		return passage{}, gatehouse.Errorf(gatehouse.KindPreconditionFailed, "approval request %d is %s: %s", r.ID, state, strings.Join(j.missing(), "; "))
	}
	if deployer != nil {
		for _, p := range st.Policies() {
			if !p.ApproverMayDeploy && slices.Contains(full.Approvers(), deployer.Person) {
				return passage{}, gatehouse.Forbiddenf("%s approved this image for %s and may not deploy it (policy %s): another deployer must",
					deployer.Who(), env.Name, p.Name)
			}
		}
	}
	return passage{approval: &full}, nil
}

// consume marks the request used by the deployment (one approval buys one deployment) and
// tells its requester.
func (tx *Tx) consume(r *approvalRow, deployment int64) error {
	if _, err := tx.ExecContext(tx.ctx, `UPDATE approvals SET deployment_id = $1 WHERE id = $2`, deployment, r.ID); err != nil {
		return fmt.Errorf("consume approval: %w", err)
	}
	r.Deployment = deployment
	if err := tx.setApproval(*r, gatehouse.ApprovalConsumed, "", map[string]any{"deployment": deployment}); err != nil {
		return err
	}
	return tx.notify(gatehouse.EventApprovalDeployed, r.ApprovalRequest, []string{r.Requester})
}

// deployIfAuto starts the deployment of a request that just got approved when its stage
// deploys by itself.
func (tx *Tx) deployIfAuto(r approvalRow) error {
	app, err := findApp(tx.ctx, tx, r.Project, r.App)
	if err != nil {
		return err
	}
	p, err := readPipeline(tx.ctx, tx, app)
	if err != nil {
		return err
	}
	st := p.StageFor(r.Environment)
	if st == nil { // the stage left the pipeline since the request
		return nil
	}
	// autoDeploy passes over a stage that is not auto.
	return tx.autoDeploy(app, []gatehouse.Stage{*st}, r.Digest, fmt.Sprintf("pipeline (approval %d)", r.ID), 0)
}

// ExpireApprovals ends open requests whose time ran out, telling their requesters; it returns
// how many it ended.
func (db *DB) ExpireApprovals(ctxIn context.Context) (int, error) {
	ctx := gatehouse.WithActor(ctxIn, gatehouse.SystemActor())
	n := 0
	err := db.write(ctx, func(tx *Tx) error {
		rows, err := queryAll(ctx, tx, scanApproval, approvalSelect+` WHERE a.state IN ('pending', 'approved') AND a.expires_at <= $1 LIMIT 100`, micro(tx.now))
		if err != nil {
			return fmt.Errorf("expired approvals: %w", err)
		}
		for _, r := range rows {
			if err := tx.expire(r); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
