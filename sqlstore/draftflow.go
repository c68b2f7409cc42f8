package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehousehq/gatehouse"
)

// CreateDraft implements gatehouse.DraftService.
func (s *DraftService) CreateDraft(ctx context.Context, in gatehouse.DraftCreate) (*gatehouse.Draft, error) {
	if err := in.ConfigWrite.Validate(); err != nil {
		return nil, err
	}
	var id int64
	err := s.db.write(ctx, func(tx *Tx) error {
		who, err := actor(ctx)
		if err != nil {
			return err
		}
		sub, err := resolveSubject(ctx, tx, in.DraftRef)
		if err != nil {
			return err
		}
		k := draftKinds[in.Kind]
		if err := requireWrite(who, k, sub); err != nil {
			return err
		}
		current, err := k.live(ctx, tx.db, tx, sub)
		if err != nil {
			return err
		}
		body, err := k.prepare(ctx, tx.db, tx, sub, in.Content, current)
		if err != nil {
			return err
		}
		if body == current {
			return gatehouse.Errorf(gatehouse.KindPreconditionFailed, "the draft changes nothing: its content is the live %s", in.DraftRef)
		}
		ch, err := k.change(ctx, tx.db, tx, sub, "live", "draft", current, body)
		if err != nil {
			return err
		}
		judges, err := k.judges(ctx, tx.db, tx, sub, current, body, ch)
		if err != nil {
			return err
		}
		if len(judges) == 0 {
			return gatehouse.Errorf(gatehouse.KindPreconditionFailed,
				"no policy judges this change of %s (nothing protects it, or the change only tightens): change it directly", in.DraftRef)
		}
		if id, err = tx.insertDraft(sub, current); err != nil {
			return err
		}
		if err := tx.insertDraftVersion(id, 1, k, body, in.Comment); err != nil {
			return err
		}
		return tx.audit(change{action: "draft.create", resource: fmt.Sprintf("draft/%d", id), target: sub.ref.Target(),
			after:   map[string]any{"subject": sub.ref, "state": gatehouse.DraftOpen, "version": 1},
			details: map[string]any{"changes": ch.Changes, "labels": ch.Labels, "comment": in.Comment}})
	})
	if err != nil {
		return nil, err
	}
	return s.Draft(ctx, id)
}

// insertDraft adds an open draft of the subject, whose live content is current.
func (tx *Tx) insertDraft(sub subject, current string) (int64, error) {
	who := gatehouse.ActorFrom(tx.ctx)
	nullID := func(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }
	principal, scope := "", ""
	if sub.principal != nil {
		principal = sub.principal.String()
	}
	if sub.policy != nil {
		scope = sub.policy.Scope
	}
	if sub.window != nil {
		scope = sub.window.Scope
	}
	var id int64
	err := tx.QueryRowContext(tx.ctx, `INSERT INTO drafts (kind, subject, project_id, app_id, environment_id, policy, principal, scope, state, version,
		base_hash, author, created_at, updated_at, window_name) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'draft', 1, $9, $10, $11, $11, $12) RETURNING id`,
		sub.ref.Kind, sub.key(), nullID(sub.projectID), nullID(sub.appID()), nullID(sub.envID()), sub.ref.Policy, principal, scope,
		contentHash(current), who.UserName, micro(tx.now), sub.ref.Window).Scan(&id)
	if isUniqueViolation(err) {
		var open int64
		_ = tx.QueryRowContext(tx.ctx, `SELECT id FROM drafts WHERE subject = $1 AND state IN ('draft', 'proposed', 'approved')`, sub.key()).Scan(&open)
		return 0, gatehouse.Conflictf("draft %d of %s is open: add a version to it (gatehouse draft edit %d)", open, sub.ref, open)
	} else if err != nil {
		return 0, fmt.Errorf("insert draft: %w", err)
	}
	return id, nil
}

func (tx *Tx) insertDraftVersion(id, version int64, k draftKind, body, comment string) error {
	if k.sealed() {
		body = tx.db.secrets.Seal([]byte(body), draftAAD(id, version))
	}
	who := gatehouse.ActorFrom(tx.ctx)
	_, err := tx.ExecContext(tx.ctx, `INSERT INTO draft_versions (draft_id, version, body, author, person, comment, at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		id, version, body, who.UserName, who.Person, comment, micro(tx.now))
	if err != nil {
		return fmt.Errorf("insert draft version: %w", err)
	}
	if sk, ok := k.(scoped); ok {
		// A draft that creates its subject is seen where its first version reaches.
		if _, err := tx.ExecContext(tx.ctx, `UPDATE drafts SET scope = $1 WHERE id = $2 AND scope = ''`, sk.scopeOf(body), id); err != nil {
			return fmt.Errorf("draft scope: %w", err)
		}
	}
	return nil
}

// scoped is a draft kind whose content names its scope (a window's).
type scoped interface{ scopeOf(body string) string }

// draftTx runs step on a draft the caller may see, locked, after checking the caller may do
// what need says on its subject ("": no check beyond seeing it; write: what changing the
// subject needs).
func (s *DraftService) draftTx(ctx context.Context, id int64, write bool, step func(tx *Tx, r draftRow) error) (*gatehouse.Draft, error) {
	err := s.db.write(ctx, func(tx *Tx) error {
		who, r, err := s.db.visibleDraft(ctx, tx, id, tx.db.dialect.forUpdateOf("d"))
		if err != nil {
			return err
		}
		if write {
			sub, err := systemSubject(ctx, tx, r.DraftRef)
			if err != nil {
				return err
			}
			if err := requireWrite(who, draftKinds[r.Kind], sub); err != nil {
				return err
			}
		}
		return step(tx, r)
	})
	if err != nil {
		return nil, err
	}
	return s.Draft(ctx, id)
}

func requireState(r draftRow, states ...gatehouse.DraftState) error {
	if !slices.Contains(states, r.State) {
		return gatehouse.Errorf(gatehouse.KindPreconditionFailed, "draft %d is %s", r.ID, r.State)
	}
	return nil
}

// EditDraft implements gatehouse.DraftService.
func (s *DraftService) EditDraft(ctx context.Context, id int64, in gatehouse.ConfigWrite) (*gatehouse.Draft, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if in.BaseVersion <= 0 {
		return nil, gatehouse.Invalidf("base_version", "is required: the draft version your edit starts from")
	}
	return s.draftTx(ctx, id, true, func(tx *Tx, r draftRow) error {
		if err := requireState(r, gatehouse.DraftOpen, gatehouse.DraftProposed, gatehouse.DraftApproved); err != nil {
			return err
		}
		if in.BaseVersion != r.Version {
			last := r.Versions[len(r.Versions)-1]
			return gatehouse.Conflictf("draft changed, reload: draft %d is at version %d (by %s), your edit starts from version %d",
				id, r.Version, last.Author, in.BaseVersion)
		}
		k := draftKinds[r.Kind]
		sub, err := systemSubject(tx.ctx, tx, r.DraftRef)
		if err != nil {
			return err
		}
		prev, err := tx.db.draftBody(tx.ctx, tx, r, r.Version)
		if err != nil {
			return err
		}
		body, err := k.prepare(tx.ctx, tx.db, tx, sub, in.Content, prev)
		if err != nil {
			return err
		}
		// The version moves only from the one the writer saw: of concurrent edits one wins.
		res, err := tx.ExecContext(tx.ctx, `UPDATE drafts SET version = version + 1, updated_at = $1 WHERE id = $2 AND version = $3`,
			micro(tx.now), id, in.BaseVersion)
		if err != nil {
			return fmt.Errorf("draft version: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return gatehouse.Conflictf("draft changed, reload: draft %d moved on from version %d", id, in.BaseVersion)
		}
		if err := tx.insertDraftVersion(id, r.Version+1, k, body, in.Comment); err != nil {
			return err
		}
		ch, err := k.change(tx.ctx, tx.db, tx, sub, fmt.Sprintf("v%d", r.Version), fmt.Sprintf("v%d", r.Version+1), prev, body)
		if err != nil {
			return err
		}
		if err := tx.audit(change{action: "draft.edit", resource: fmt.Sprintf("draft/%d", id), target: r.target(),
			before: map[string]any{"version": r.Version}, after: map[string]any{"version": r.Version + 1},
			details: map[string]any{"changes": ch.Changes, "labels": ch.Labels, "comment": in.Comment}}); err != nil {
			return err
		}
		r.Version++
		if r.State == gatehouse.DraftApproved {
			// Approvals are for a version: the new one needs its own.
			return tx.moveBallot(r, gatehouse.DraftProposed, "a new version needs approval", nil)
		}
		return nil
	})
}

// CommentDraft implements gatehouse.DraftService.
func (s *DraftService) CommentDraft(ctx context.Context, id int64, text string) (*gatehouse.Draft, error) {
	if strings.TrimSpace(text) == "" {
		return nil, gatehouse.Invalidf("text", "is required: expected a remark of 1 to 4096 characters")
	}
	if len(text) > 4096 {
		return nil, gatehouse.Invalidf("text", "is %d bytes: expected at most 4096", len(text))
	}
	return s.draftTx(ctx, id, false, func(tx *Tx, r draftRow) error {
		if err := tx.insertComment(id, text); err != nil {
			return err
		}
		return tx.audit(change{action: "draft.comment", resource: fmt.Sprintf("draft/%d", id), target: r.target(),
			details: map[string]any{"comment": text}})
	})
}

func (tx *Tx) insertComment(id int64, text string) error {
	if _, err := tx.ExecContext(tx.ctx, `INSERT INTO draft_comments (draft_id, author, body, at) VALUES ($1, $2, $3, $4)`,
		id, gatehouse.ActorFrom(tx.ctx).UserName, text, micro(tx.now)); err != nil {
		return fmt.Errorf("insert comment: %w", err)
	}
	return nil
}

// ProposeDraft implements gatehouse.DraftService.
func (s *DraftService) ProposeDraft(ctx context.Context, id int64, in gatehouse.DraftPropose) (*gatehouse.Draft, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	return s.draftTx(ctx, id, true, func(tx *Tx, r draftRow) error {
		if err := requireState(r, gatehouse.DraftOpen); err != nil {
			return err
		}
		j, err := tx.db.judgeDraft(tx.ctx, tx, r)
		if err != nil {
			return err
		}
		if len(j.change.Changes) == 0 && j.body == j.current {
			return gatehouse.Errorf(gatehouse.KindPreconditionFailed, "draft %d changes nothing against the live %s", id, r.DraftRef)
		}
		if len(j.Judges) == 0 {
			return gatehouse.Errorf(gatehouse.KindPreconditionFailed, "%s is no longer protected by any policy: discard draft %d and change it directly", r.DraftRef, id)
		}
		notify, err := tx.recipients(in.Notify, j.Standing)
		if err != nil {
			return err
		}
		notify = slices.DeleteFunc(notify, func(n string) bool { return slices.Contains(r.Authors, n) })
		if _, err := tx.ExecContext(tx.ctx, `UPDATE drafts SET notify = $1 WHERE id = $2`, jsonText(notify), id); err != nil {
			return fmt.Errorf("draft notify: %w", err)
		}
		if err := tx.moveBallot(r, gatehouse.DraftProposed, "", map[string]any{"comment": in.Comment, "notify": notify, "labels": j.change.Labels}); err != nil {
			return err
		}
		if in.Comment != "" {
			if err := tx.insertComment(id, in.Comment); err != nil {
				return err
			}
		}
		if err := tx.deliver(r.Project, gatehouse.Notification{Event: gatehouse.EventDraftProposed, DraftID: id}, notify); err != nil {
			return err
		}
		if j.met() {
			// Approvals of this version from before a rejection still stand.
			if err := tx.moveBallot(r, gatehouse.DraftApproved, "", nil); err != nil {
				return err
			}
			return r.approved(tx)
		}
		return nil
	})
}

// ApproveDraft implements gatehouse.DraftService.
func (s *DraftService) ApproveDraft(ctx context.Context, id int64, d gatehouse.Decision) (*gatehouse.Draft, error) {
	return s.draftTx(ctx, id, false, func(tx *Tx, r draftRow) error { return tx.voteDraft(r, true, d) })
}

// RejectDraft implements gatehouse.DraftService.
func (s *DraftService) RejectDraft(ctx context.Context, id int64, d gatehouse.Decision) (*gatehouse.Draft, error) {
	if strings.TrimSpace(d.Comment) == "" {
		return nil, gatehouse.Invalidf("comment", "is required: a rejection says why")
	}
	return s.draftTx(ctx, id, false, func(tx *Tx, r draftRow) error { return tx.voteDraft(r, false, d) })
}

// voteDraft casts the caller's vote on a locked draft, judged as it stands now.
func (tx *Tx) voteDraft(r draftRow, approve bool, d gatehouse.Decision) error {
	st, err := r.standing(tx)
	if err != nil {
		return err
	}
	_, err = tx.castVote(r, st, approve, d)
	return err
}

// PublishDraft implements gatehouse.DraftService.
func (s *DraftService) PublishDraft(ctx context.Context, id int64) (*gatehouse.Draft, error) {
	return s.draftTx(ctx, id, true, func(tx *Tx, r draftRow) error {
		if err := requireState(r, gatehouse.DraftApproved); err != nil {
			return err
		}
		j, err := tx.db.judgeDraft(tx.ctx, tx, r)
		if err != nil {
			return err
		}
		if len(j.Judges) > 0 && !j.met() {
			return gatehouse.Errorf(gatehouse.KindPreconditionFailed, "draft %d cannot be published: %s", id, strings.Join(j.missing(), "; "))
		}
		if contentHash(j.current) != r.baseHash {
			return gatehouse.Errorf(gatehouse.KindPreconditionFailed,
				"draft %d is stale: the live %s changed since the draft began; discard it and start again from what is live", id, r.DraftRef)
		}
		// What the content refers to may have changed since it was written (a chart's schema).
		if _, err := j.kind.prepare(tx.ctx, tx.db, tx, j.subject, j.body, j.body); err != nil {
			return err
		}
		made, err := j.kind.apply(tx, j.subject, j.current, j.body, application{draft: id, version: r.Version, approvers: r.Approvers()})
		if err != nil {
			return err
		}
		if made != 0 {
			if _, err := tx.ExecContext(tx.ctx, `UPDATE drafts SET published_revision = $1 WHERE id = $2`, made, id); err != nil {
				return fmt.Errorf("draft revision: %w", err)
			}
		}
		if err := tx.moveBallot(r, gatehouse.DraftPublished, "", map[string]any{"revision": made, "lockout": j.lockout}); err != nil {
			return err
		}
		people := slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(r.Authors), r.Approvers()...))))
		return tx.deliver(r.Project, gatehouse.Notification{Event: gatehouse.EventDraftPublished, DraftID: id}, people)
	})
}

// DiscardDraft implements gatehouse.DraftService. Its authors and anyone who may change the
// subject may discard it.
func (s *DraftService) DiscardDraft(ctx context.Context, id int64, reason string) (*gatehouse.Draft, error) {
	if len(reason) > 4096 {
		return nil, gatehouse.Invalidf("reason", "is %d bytes: expected at most 4096", len(reason))
	}
	return s.draftTx(ctx, id, false, func(tx *Tx, r draftRow) error {
		who := gatehouse.ActorFrom(tx.ctx)
		if !slices.Contains(r.Authors, who.Person) {
			sub, err := systemSubject(tx.ctx, tx, r.DraftRef)
			if err != nil {
				return err
			}
			if err := requireWrite(who, draftKinds[r.Kind], sub); err != nil {
				return err
			}
		}
		if err := requireState(r, gatehouse.DraftOpen, gatehouse.DraftProposed, gatehouse.DraftApproved); err != nil {
			return err
		}
		if reason == "" {
			reason = "discarded by " + who.UserName
		}
		return tx.discard(r, reason)
	})
}

func (tx *Tx) discard(r draftRow, reason string) error {
	if err := tx.moveBallot(r, gatehouse.DraftDiscarded, reason, nil); err != nil {
		return err
	}
	return tx.deliver(r.Project, gatehouse.Notification{Event: gatehouse.EventDraftDiscarded, DraftID: r.ID}, r.Authors)
}

// recheckDrafts follows a change of policies or settings through the open drafts: a draft
// whose subject is gone or no longer protected is discarded (audited, its authors told); a
// proposed or approved draft is judged again under the policies as they are now. The draft
// except (the one whose publishing made the change, if any) is left to its own flow.
func (tx *Tx) recheckDrafts(why string, except int64) error {
	ids, err := queryAll(tx.ctx, tx, scanInt64, `SELECT id FROM drafts WHERE state IN ('draft', 'proposed', 'approved') AND id <> $1 ORDER BY id`, except)
	if err != nil {
		return fmt.Errorf("open drafts: %w", err)
	}
	for _, id := range ids {
		r, err := findDraft(tx.ctx, tx, id, "")
		if err != nil {
			return err
		}
		j, err := tx.db.judgeDraft(tx.ctx, tx, r)
		switch {
		case gatehouse.KindOf(err) == gatehouse.KindNotFound:
			err = tx.discard(r, "its subject is gone: "+why)
		case err != nil:
		case len(j.Judges) == 0:
			err = tx.discard(r, "protection turned off: "+why)
		case r.State == gatehouse.DraftProposed && j.met():
			if err = tx.moveBallot(r, gatehouse.DraftApproved, "", nil); err == nil {
				err = r.approved(tx)
			}
		case r.State == gatehouse.DraftApproved && !j.met():
			err = tx.moveBallot(r, gatehouse.DraftProposed, why+": "+strings.Join(j.missing(), "; "), nil)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
