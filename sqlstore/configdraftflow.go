package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

// CreateDraft implements gatehouse.ConfigService.
func (s *ConfigService) CreateDraft(ctx context.Context, ref gatehouse.ConfigRef, in gatehouse.ConfigWrite) (*gatehouse.ConfigDraft, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var id int64
	err := s.db.write(ctx, func(tx *Tx) error {
		who, l, err := changeableConfig(ctx, tx, ref)
		if err != nil {
			return err
		}
		policies, err := configPolicies(ctx, tx, l)
		if err != nil {
			return err
		}
		if len(policies) == 0 {
			return gatehouse.Errorf(gatehouse.KindPreconditionFailed, "%s is not protected by any config policy: set it directly (gatehouse config set)", ref)
		}
		current, err := tx.db.readLive(ctx, tx, l)
		if err != nil {
			return err
		}
		body, err := tx.db.prepareContent(ctx, tx, l, in.Content, current)
		if err != nil {
			return err
		}
		if body == current {
			return gatehouse.Errorf(gatehouse.KindPreconditionFailed, "the draft changes nothing: its content is the live %s", ref)
		}
		var env sql.NullInt64
		if l.env != nil {
			env = sql.NullInt64{Int64: l.env.ID, Valid: true}
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO config_drafts (app_id, environment_id, kind, state, version, base_hash, author, created_at, updated_at)
			VALUES ($1, $2, $3, 'draft', 1, $4, $5, $6, $6) RETURNING id`, l.app.ID, env, ref.Kind, contentHash(current), who.UserName, micro(tx.now)).Scan(&id)
		if isUniqueViolation(err) {
			var open int64
			_ = tx.QueryRowContext(ctx, `SELECT id FROM config_drafts WHERE app_id = $1 AND COALESCE(environment_id, 0) = $2 AND kind = $3
				AND state IN ('draft', 'proposed', 'approved')`, l.app.ID, l.envID(), ref.Kind).Scan(&open)
			return gatehouse.Conflictf("config draft %d of %s is open: add a version to it (gatehouse config draft edit %d)", open, ref, open)
		} else if err != nil {
			return fmt.Errorf("insert draft: %w", err)
		}
		if err := tx.insertDraftVersion(id, 1, ref.Kind, body, in.Comment); err != nil {
			return err
		}
		ch, err := configChange(ref.Kind, "live", "draft", current, body)
		if err != nil {
			return err
		}
		return tx.audit(change{action: "config.draft.create", resource: fmt.Sprintf("config-draft/%d", id), target: ref.Target(),
			after:   map[string]any{"resource": l.resource(), "state": gatehouse.DraftOpen, "version": 1},
			details: map[string]any{"changes": ch.Changes, "labels": ch.Labels, "comment": in.Comment}})
	})
	if err != nil {
		return nil, err
	}
	return s.ConfigDraft(ctx, id)
}

func (tx *Tx) insertDraftVersion(id, version int64, kind gatehouse.ConfigKind, body, comment string) error {
	if kind == gatehouse.ConfigSecrets {
		body = tx.db.secrets.Seal([]byte(body), draftAAD(id, version))
	}
	_, err := tx.ExecContext(tx.ctx, `INSERT INTO config_draft_versions (draft_id, version, body, author, comment, at) VALUES ($1, $2, $3, $4, $5, $6)`,
		id, version, body, gatehouse.ActorFrom(tx.ctx).UserName, comment, micro(tx.now))
	if isUniqueViolation(err) {
		return gatehouse.Conflictf("draft changed, reload: config draft %d already has version %d", id, version)
	} else if err != nil {
		return fmt.Errorf("insert draft version: %w", err)
	}
	return nil
}

// draftTx runs step on a draft locked in a write transaction, after checking the caller can
// see it and (need, unless empty) holds the action on it; it returns the draft as it ends.
func (s *ConfigService) draftTx(ctx context.Context, id int64, need gatehouse.Action, step func(tx *Tx, r draftRow) error) (*gatehouse.ConfigDraft, error) {
	who, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	err = s.db.write(ctx, func(tx *Tx) error {
		r, err := findDraft(ctx, tx, id, tx.db.dialect.forUpdateOf("d"))
		if err != nil {
			return err
		}
		if !who.CanSee(r.ConfigRef.Target()) {
			return gatehouse.NotFoundf("config draft %d not found", id)
		}
		if need != "" {
			if err := who.Require(need, r.ConfigRef.Target()); err != nil {
				return err
			}
		}
		return step(tx, r)
	})
	if err != nil {
		return nil, err
	}
	return s.ConfigDraft(ctx, id)
}

func requireOpen(r draftRow, states ...gatehouse.DraftState) error {
	if !slices.Contains(states, r.State) {
		return gatehouse.Errorf(gatehouse.KindPreconditionFailed, "config draft %d is %s", r.ID, r.State)
	}
	return nil
}

// setDraft moves a draft to a state with a reason, and audits it.
func (tx *Tx) setDraft(r draftRow, to gatehouse.DraftState, reason string, details map[string]any) error {
	var decided sql.NullInt64
	if !to.Open() || to == gatehouse.DraftApproved {
		decided = sql.NullInt64{Int64: micro(tx.now), Valid: true}
	}
	if _, err := tx.ExecContext(tx.ctx, `UPDATE config_drafts SET state = $1, reason = $2, decided_at = $3, updated_at = $4 WHERE id = $5`,
		to, reason, decided, micro(tx.now), r.ID); err != nil {
		return fmt.Errorf("draft state: %w", err)
	}
	from := r.State
	r.State, r.Reason = to, reason
	if details == nil {
		details = map[string]any{}
	}
	details["reason"], details["version"] = reason, r.Version
	return tx.audit(change{action: "config.draft." + string(to), resource: fmt.Sprintf("config-draft/%d", r.ID), target: r.ConfigRef.Target(),
		before: map[string]any{"state": from}, after: map[string]any{"state": to}, details: details})
}

// EditDraft implements gatehouse.ConfigService.
func (s *ConfigService) EditDraft(ctx context.Context, id int64, in gatehouse.ConfigWrite) (*gatehouse.ConfigDraft, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if in.BaseVersion <= 0 {
		return nil, gatehouse.Invalidf("base_version", "is required: the draft version your edit starts from")
	}
	return s.draftTx(ctx, id, gatehouse.ActionManage, func(tx *Tx, r draftRow) error {
		if err := requireOpen(r, gatehouse.DraftOpen, gatehouse.DraftProposed, gatehouse.DraftApproved); err != nil {
			return err
		}
		if in.BaseVersion != r.Version {
			last := r.Versions[len(r.Versions)-1]
			return gatehouse.Conflictf("draft changed, reload: config draft %d is at version %d (by %s), your edit starts from version %d",
				id, r.Version, last.Author, in.BaseVersion)
		}
		l, err := draftLive(tx.ctx, tx, r)
		if err != nil {
			return err
		}
		prev, err := tx.db.draftBody(tx.ctx, tx, r, r.Version)
		if err != nil {
			return err
		}
		body, err := tx.db.prepareContent(tx.ctx, tx, l, in.Content, prev)
		if err != nil {
			return err
		}
		// The version moves only from the one the writer saw: of concurrent edits one wins.
		res, err := tx.ExecContext(tx.ctx, `UPDATE config_drafts SET version = version + 1, updated_at = $1 WHERE id = $2 AND version = $3`,
			micro(tx.now), id, in.BaseVersion)
		if err != nil {
			return fmt.Errorf("draft version: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return gatehouse.Conflictf("draft changed, reload: config draft %d moved on from version %d", id, in.BaseVersion)
		}
		if err := tx.insertDraftVersion(id, r.Version+1, r.Kind, body, in.Comment); err != nil {
			return err
		}
		ch, err := configChange(r.Kind, fmt.Sprintf("v%d", r.Version), fmt.Sprintf("v%d", r.Version+1), prev, body)
		if err != nil {
			return err
		}
		if err := tx.audit(change{action: "config.draft.edit", resource: fmt.Sprintf("config-draft/%d", id), target: r.ConfigRef.Target(),
			before: map[string]any{"version": r.Version}, after: map[string]any{"version": r.Version + 1},
			details: map[string]any{"changes": ch.Changes, "labels": ch.Labels, "comment": in.Comment}}); err != nil {
			return err
		}
		if r.State == gatehouse.DraftApproved {
			// Approvals are for a version: the new one needs its own.
			r.Version++
			return tx.setDraft(r, gatehouse.DraftProposed, "a new version needs approval", nil)
		}
		return nil
	})
}

// CommentDraft implements gatehouse.ConfigService.
func (s *ConfigService) CommentDraft(ctx context.Context, id int64, text string) (*gatehouse.ConfigDraft, error) {
	if strings.TrimSpace(text) == "" {
		return nil, gatehouse.Invalidf("text", "is required: expected a remark of 1 to 4096 characters")
	}
	if len(text) > 4096 {
		return nil, gatehouse.Invalidf("text", "is %d bytes: expected at most 4096", len(text))
	}
	return s.draftTx(ctx, id, gatehouse.ActionView, func(tx *Tx, r draftRow) error {
		who := gatehouse.ActorFrom(tx.ctx)
		if _, err := tx.ExecContext(tx.ctx, `INSERT INTO config_draft_comments (draft_id, author, body, at) VALUES ($1, $2, $3, $4)`,
			id, who.UserName, text, micro(tx.now)); err != nil {
			return fmt.Errorf("insert comment: %w", err)
		}
		return tx.audit(change{action: "config.draft.comment", resource: fmt.Sprintf("config-draft/%d", id), target: r.ConfigRef.Target(),
			details: map[string]any{"comment": text}})
	})
}

// ProposeDraft implements gatehouse.ConfigService.
func (s *ConfigService) ProposeDraft(ctx context.Context, id int64, in gatehouse.DraftPropose) (*gatehouse.ConfigDraft, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	return s.draftTx(ctx, id, gatehouse.ActionManage, func(tx *Tx, r draftRow) error {
		if err := requireOpen(r, gatehouse.DraftOpen); err != nil {
			return err
		}
		j, err := tx.db.judgeDraft(tx.ctx, tx, r)
		if err != nil {
			return err
		}
		if len(j.change.Changes) == 0 {
			return gatehouse.Errorf(gatehouse.KindPreconditionFailed, "config draft %d changes nothing against the live %s", id, r.ConfigRef)
		}
		notify, err := tx.recipients(in.Notify, r.ConfigRef.Target(), gatehouse.PolicyConfig)
		if err != nil {
			return err
		}
		notify = slices.DeleteFunc(notify, func(n string) bool { return slices.Contains(r.Authors, n) })
		if _, err := tx.ExecContext(tx.ctx, `UPDATE config_drafts SET notify = $1 WHERE id = $2`, jsonText(notify), id); err != nil {
			return fmt.Errorf("draft notify: %w", err)
		}
		if err := tx.setDraft(r, gatehouse.DraftProposed, "", map[string]any{"comment": in.Comment, "notify": notify, "labels": j.change.Labels}); err != nil {
			return err
		}
		if in.Comment != "" {
			if _, err := tx.ExecContext(tx.ctx, `INSERT INTO config_draft_comments (draft_id, author, body, at) VALUES ($1, $2, $3, $4)`,
				id, gatehouse.ActorFrom(tx.ctx).UserName, in.Comment, micro(tx.now)); err != nil {
				return fmt.Errorf("insert comment: %w", err)
			}
		}
		if err := tx.deliver(r.Project, gatehouse.Notification{Event: gatehouse.EventConfigProposed, DraftID: id}, notify); err != nil {
			return err
		}
		if j.met() {
			// Approvals of this version from before a rejection still stand.
			return tx.approveDraft(r)
		}
		return nil
	})
}

func (tx *Tx) approveDraft(r draftRow) error {
	if err := tx.setDraft(r, gatehouse.DraftApproved, "", nil); err != nil {
		return err
	}
	return tx.deliver(r.Project, gatehouse.Notification{Event: gatehouse.EventConfigApproved, DraftID: r.ID}, r.Authors)
}

// ApproveDraft implements gatehouse.ConfigService.
func (s *ConfigService) ApproveDraft(ctx context.Context, id int64, d gatehouse.Decision) (*gatehouse.ConfigDraft, error) {
	return s.draftTx(ctx, id, "", func(tx *Tx, r draftRow) error { return tx.voteDraft(r, true, d) })
}

// RejectDraft implements gatehouse.ConfigService.
func (s *ConfigService) RejectDraft(ctx context.Context, id int64, d gatehouse.Decision) (*gatehouse.ConfigDraft, error) {
	if strings.TrimSpace(d.Comment) == "" {
		return nil, gatehouse.Invalidf("comment", "is required: a rejection says why")
	}
	return s.draftTx(ctx, id, "", func(tx *Tx, r draftRow) error { return tx.voteDraft(r, false, d) })
}

// voteDraft records the caller's vote on the draft's latest version: an approval that meets
// every policy approves the draft; a rejection sends it back to its authors.
func (tx *Tx) voteDraft(r draftRow, approve bool, d gatehouse.Decision) error {
	if err := validateDecision(d); err != nil {
		return err
	}
	if err := requireOpen(r, gatehouse.DraftProposed, gatehouse.DraftApproved); err != nil {
		return err
	}
	who := gatehouse.ActorFrom(tx.ctx)
	if slices.ContainsFunc(r.Votes, func(v gatehouse.Vote) bool { return v.Voter == who.UserName }) {
		return gatehouse.Conflictf("%s already voted on version %d of config draft %d", who.UserName, r.Version, r.ID)
	}
	j, err := tx.db.judgeDraft(tx.ctx, tx, r)
	if err != nil {
		return err
	}
	if len(j.policies) == 0 {
		return gatehouse.Errorf(gatehouse.KindPreconditionFailed, "%s is no longer protected: config draft %d needs no approval", r.ConfigRef, r.ID)
	}
	if _, err := eligibleVoter(tx.ctx, tx, j.policies, j.facts, r.ConfigRef.Target(), fmt.Sprintf("config draft %d", r.ID)); err != nil {
		return err
	}
	_, err = tx.ExecContext(tx.ctx, `INSERT INTO config_draft_votes (draft_id, version, voter, approve, comment, via, at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		r.ID, r.Version, who.UserName, approve, d.Comment, who.Via, micro(tx.now))
	if isUniqueViolation(err) {
		return gatehouse.Conflictf("%s already voted on version %d of config draft %d", who.UserName, r.Version, r.ID)
	} else if err != nil {
		return fmt.Errorf("insert draft vote: %w", err)
	}
	r.Votes = append(r.Votes, gatehouse.Vote{Voter: who.UserName, Approve: approve, Comment: d.Comment, Via: who.Via, Time: tx.now})
	if err := tx.audit(change{action: "config.draft.vote", resource: fmt.Sprintf("config-draft/%d", r.ID), target: r.ConfigRef.Target(),
		details: map[string]any{"approve": approve, "comment": d.Comment, "version": r.Version, "via": who.Via, "labels": j.change.Labels}}); err != nil {
		return err
	}
	if !approve {
		if err := tx.setDraft(r, gatehouse.DraftOpen, d.Comment, map[string]any{"rejected_by": who.UserName}); err != nil {
			return err
		}
		return tx.deliver(r.Project, gatehouse.Notification{Event: gatehouse.EventConfigRejected, DraftID: r.ID}, r.Authors)
	}
	if r.State != gatehouse.DraftProposed {
		return nil
	}
	if j, err = tx.db.judgeDraft(tx.ctx, tx, r); err != nil {
		return err
	}
	if !j.met() {
		return nil
	}
	return tx.approveDraft(r)
}

func validateDecision(d gatehouse.Decision) error {
	if len(d.Comment) > 4096 {
		return gatehouse.Invalidf("comment", "is %d bytes: expected at most 4096", len(d.Comment))
	}
	return nil
}

// PublishDraft implements gatehouse.ConfigService.
func (s *ConfigService) PublishDraft(ctx context.Context, id int64) (*gatehouse.ConfigDraft, error) {
	return s.draftTx(ctx, id, gatehouse.ActionManage, func(tx *Tx, r draftRow) error {
		if err := requireOpen(r, gatehouse.DraftApproved); err != nil {
			return err
		}
		j, err := tx.db.judgeDraft(tx.ctx, tx, r)
		if err != nil {
			return err
		}
		if len(j.policies) > 0 && !j.met() {
			return gatehouse.Errorf(gatehouse.KindPreconditionFailed, "config draft %d cannot be published: %s",
				id, strings.Join(j.missing(), "; "))
		}
		if contentHash(j.current) != r.baseHash {
			return gatehouse.Errorf(gatehouse.KindPreconditionFailed,
				"config draft %d is stale: the live %s changed since the draft began; discard it and start again from the live content", id, r.ConfigRef)
		}
		// The schema may have changed with the chart since the draft was written.
		if _, err := tx.db.prepareContent(tx.ctx, tx, j.live, j.body, j.body); err != nil {
			return err
		}
		rev, err := tx.writeLive(j.live, j.body)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(tx.ctx, `UPDATE config_drafts SET published_revision = $1 WHERE id = $2`, rev, id); err != nil {
			return fmt.Errorf("draft revision: %w", err)
		}
		if err := tx.audit(change{action: "config.publish", resource: j.live.resource(), target: r.ConfigRef.Target(),
			before:  map[string]any{"content": viewContent(r.Kind, j.current)},
			after:   map[string]any{"content": viewContent(r.Kind, j.body), "revision": rev},
			details: map[string]any{"draft": id, "version": r.Version, "approvers": r.Approvers(), "changes": j.change.Changes, "labels": j.change.Labels}}); err != nil {
			return err
		}
		if err := tx.setDraft(r, gatehouse.DraftPublished, "", map[string]any{"revision": rev}); err != nil {
			return err
		}
		people := slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(r.Authors), r.Approvers()...))))
		return tx.deliver(r.Project, gatehouse.Notification{Event: gatehouse.EventConfigPublished, DraftID: id}, people)
	})
}

// DiscardDraft implements gatehouse.ConfigService. Its authors and anyone who may change the
// resource may discard it.
func (s *ConfigService) DiscardDraft(ctx context.Context, id int64, reason string) (*gatehouse.ConfigDraft, error) {
	if len(reason) > 4096 {
		return nil, gatehouse.Invalidf("reason", "is %d bytes: expected at most 4096", len(reason))
	}
	return s.draftTx(ctx, id, "", func(tx *Tx, r draftRow) error {
		who := gatehouse.ActorFrom(tx.ctx)
		if !slices.Contains(r.Authors, who.UserName) {
			if err := who.Require(gatehouse.ActionManage, r.ConfigRef.Target()); err != nil {
				return err
			}
		}
		if err := requireOpen(r, gatehouse.DraftOpen, gatehouse.DraftProposed, gatehouse.DraftApproved); err != nil {
			return err
		}
		if reason == "" {
			reason = "discarded by " + who.UserName
		}
		if err := tx.setDraft(r, gatehouse.DraftDiscarded, reason, nil); err != nil {
			return err
		}
		return tx.deliver(r.Project, gatehouse.Notification{Event: gatehouse.EventConfigDiscarded, DraftID: id}, r.Authors)
	})
}

// recheckDrafts follows a policy change through the open drafts: a draft whose resource is no
// longer protected is discarded (audited, its authors told); a proposed or approved draft is
// judged again under the policies as they are now.
func (tx *Tx) recheckDrafts(why string) error {
	ids, err := queryAll(tx.ctx, tx, scanInt64, `SELECT id FROM config_drafts WHERE state IN ('draft', 'proposed', 'approved') ORDER BY id`)
	if err != nil {
		return fmt.Errorf("open drafts: %w", err)
	}
	for _, id := range ids {
		r, err := findDraft(tx.ctx, tx, id, "")
		if err != nil {
			return err
		}
		j, err := tx.db.judgeDraft(tx.ctx, tx, r)
		if err != nil {
			return err
		}
		switch {
		case len(j.policies) == 0:
			if err := tx.setDraft(r, gatehouse.DraftDiscarded, "protection turned off: "+why, nil); err != nil {
				return err
			}
			if err := tx.deliver(r.Project, gatehouse.Notification{Event: gatehouse.EventConfigDiscarded, DraftID: id}, r.Authors); err != nil {
				return err
			}
		case r.State == gatehouse.DraftProposed && j.met():
			if err := tx.approveDraft(r); err != nil {
				return err
			}
		case r.State == gatehouse.DraftApproved && !j.met():
			if err := tx.setDraft(r, gatehouse.DraftProposed, why+": "+strings.Join(j.missing(), "; "), nil); err != nil {
				return err
			}
		}
	}
	return nil
}
