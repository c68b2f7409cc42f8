package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/gatehousehq/gatehouse"
)

// ArtifactService implements gatehouse.ArtifactService.
type ArtifactService struct{ db *DB }

// NewArtifactService returns the artifact service of db.
func NewArtifactService(db *DB) *ArtifactService { return &ArtifactService{db: db} }

const artifactSelect = `SELECT a.id, p.name, ap.name, a.repository, a.digest, a.commit_sha, a.commit_time, a.commit_author,
	a.builder, a.pusher, a.labels, a.notes, a.created_by, a.created_at, a.retracted_at, a.retracted_by
	FROM artifacts a JOIN apps ap ON ap.id = a.app_id JOIN projects p ON p.id = ap.project_id`

func scanArtifact(row scanner) (*gatehouse.Artifact, error) {
	var a gatehouse.Artifact
	var commitTime, retracted sql.NullInt64
	var labels, notes string
	var created int64
	if err := row.Scan(&a.ID, &a.Project, &a.App, &a.Repository, &a.Digest, &a.Commit, &commitTime, &a.CommitAuthor,
		&a.Builder, &a.Pusher, &labels, &notes, &a.CreatedBy, &created, &retracted, &a.RetractedBy); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(labels), &a.Labels); err != nil {
		return nil, fmt.Errorf("artifact labels: %w", err)
	}
	if err := json.Unmarshal([]byte(notes), &a.Notes); err != nil {
		return nil, fmt.Errorf("artifact notes: %w", err)
	}
	a.CommitTime, a.RetractedAt, a.CreatedAt = fromNullMicro(commitTime), fromNullMicro(retracted), fromMicro(created)
	a.Tags = []string{}
	return &a, nil
}

// loadTags fills the tags of the artifacts, which all belong to one app.
func loadTags(ctx context.Context, q querier, appID int64, arts ...*gatehouse.Artifact) error {
	type tagRow struct {
		id  int64
		tag string
	}
	rows, err := queryAll(ctx, q, func(r scanner) (tagRow, error) {
		var t tagRow
		return t, r.Scan(&t.id, &t.tag)
	}, `SELECT artifact_id, tag FROM artifact_tags WHERE app_id = $1 ORDER BY tag`, appID)
	if err != nil {
		return fmt.Errorf("read tags: %w", err)
	}
	byID := map[int64]*gatehouse.Artifact{}
	for _, a := range arts {
		byID[a.ID] = a
	}
	for _, r := range rows {
		if a := byID[r.id]; a != nil {
			a.Tags = append(a.Tags, r.tag)
		}
	}
	return nil
}

func findArtifact(ctx context.Context, q querier, app *gatehouse.App, digest string) (*gatehouse.Artifact, error) {
	a, err := scanArtifact(q.QueryRowContext(ctx, artifactSelect+` WHERE a.app_id = $1 AND a.digest = $2`, app.ID, digest))
	if err != nil {
		return nil, notFoundOr(err, "artifact %s not found in app %s/%s", digest, app.Project, app.Name)
	}
	return a, loadTags(ctx, q, app.ID, a)
}

// pointTags moves each tag of the app to the artifact and returns the digests they left.
func (tx *Tx) pointTags(appID, artifactID int64, tags []string) (map[string]string, error) {
	moved := map[string]string{}
	for _, t := range tags {
		var from string
		err := tx.QueryRowContext(tx.ctx, `SELECT a.digest FROM artifact_tags t JOIN artifacts a ON a.id = t.artifact_id
			WHERE t.app_id = $1 AND t.tag = $2 AND t.artifact_id <> $3`, appID, t, artifactID).Scan(&from)
		if err == nil {
			moved[t] = from
		} else if !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("read tag: %w", err)
		}
		if _, err := tx.ExecContext(tx.ctx, `INSERT INTO artifact_tags (app_id, tag, artifact_id) VALUES ($1, $2, $3)
			ON CONFLICT (app_id, tag) DO UPDATE SET artifact_id = excluded.artifact_id`, appID, t, artifactID); err != nil {
			return nil, fmt.Errorf("point tag: %w", err)
		}
	}
	return moved, nil
}

func artifactResource(a *gatehouse.Artifact) string {
	return "artifact/" + a.Project + "/" + a.App + "/" + a.Digest
}

// CreateArtifact implements gatehouse.ArtifactService.
func (s *ArtifactService) CreateArtifact(ctx context.Context, project, app string, in gatehouse.ArtifactCreate) (*gatehouse.Artifact, error) {
	var art *gatehouse.Artifact
	err := s.db.write(ctx, func(tx *Tx) error {
		who, ap, err := visibleApp(ctx, tx, project, app)
		if err != nil {
			return err
		}
		if err := who.Require(gatehouse.ActionPushArtifact, ap.Target()); err != nil {
			return err
		}
		repo, digest, err := in.Validate()
		if err != nil {
			return err
		}
		builder := in.Builder
		switch {
		case builder == "":
			builder = who.UserName
		case who.Kind != gatehouse.ServiceAccount && builder != who.UserName:
			return gatehouse.Invalidf("builder", "a person pushing an artifact is its builder: expected %q or empty", who.UserName)
		}
		labels := in.Labels
		if labels == nil {
			labels = map[string]string{}
		}
		lj, err := json.Marshal(labels)
		if err != nil {
			return fmt.Errorf("encode labels: %w", err)
		}
		art = &gatehouse.Artifact{Project: project, App: app, Repository: repo, Digest: digest, Commit: in.Commit,
			CommitTime: in.CommitTime, CommitAuthor: in.CommitAuthor, Builder: builder, Pusher: who.Person, Labels: labels, Notes: map[string]string{},
			CreatedBy: who.UserName, CreatedAt: tx.now}
		if art.CommitTime != nil {
			t := gatehouse.AuditTime(*art.CommitTime)
			art.CommitTime = &t
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO artifacts (app_id, repository, digest, commit_sha, commit_time, commit_author,
			builder, pusher, labels, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
			ap.ID, repo, digest, art.Commit, nullMicro(art.CommitTime), art.CommitAuthor, builder, who.Person, string(lj), who.UserName, micro(tx.now)).Scan(&art.ID)
		if isUniqueViolation(err) {
			return gatehouse.Conflictf("artifact %s is already registered in app %s/%s", digest, project, app)
		} else if err != nil {
			return fmt.Errorf("insert artifact: %w", err)
		}
		tags := slices.Compact(slices.Sorted(slices.Values(in.Tags)))
		moved, err := tx.pointTags(ap.ID, art.ID, tags)
		if err != nil {
			return err
		}
		art.Tags = append([]string{}, tags...)
		var details any
		if len(moved) > 0 {
			details = map[string]any{"moved_tags": moved}
		}
		if err := tx.audit(change{action: "artifact.create", resource: artifactResource(art), target: ap.Target(), after: art, details: details}); err != nil {
			return err
		}
		p, err := readPipeline(ctx, tx, ap)
		if err != nil {
			return err
		}
		return tx.autoDeploy(ap, p.Children(""), digest, "pipeline (artifact pushed by "+who.UserName+")", 0)
	})
	return art, err
}

// Artifact implements gatehouse.ArtifactService.
func (s *ArtifactService) Artifact(ctx context.Context, project, app, digest string) (*gatehouse.Artifact, error) {
	if err := gatehouse.ValidateDigest("digest", digest); err != nil {
		return nil, err
	}
	_, ap, err := visibleApp(ctx, s.db.r, project, app)
	if err != nil {
		return nil, err
	}
	return findArtifact(ctx, s.db.r, ap, digest)
}

// Artifacts implements gatehouse.ArtifactService.
func (s *ArtifactService) Artifacts(ctx context.Context, project, app string, f gatehouse.ArtifactFilter) ([]*gatehouse.Artifact, error) {
	_, ap, err := visibleApp(ctx, s.db.r, project, app)
	if err != nil {
		return nil, err
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	if f.Limit > 1000 {
		return nil, gatehouse.Invalidf("limit", "%d is too large: expected at most 1000", f.Limit)
	}
	q := artifactSelect + ` WHERE a.app_id = $1`
	args := []any{ap.ID}
	if f.Tag != "" {
		q += ` AND a.id IN (SELECT artifact_id FROM artifact_tags WHERE app_id = $1 AND tag = $2)`
		args = append(args, f.Tag)
	}
	if !f.IncludeRetracted {
		q += ` AND a.retracted_at IS NULL`
	}
	args = append(args, f.Limit)
	q += fmt.Sprintf(` ORDER BY a.id DESC LIMIT $%d`, len(args))
	arts, err := queryAll(ctx, s.db.r, scanArtifact, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list artifacts: %w", err)
	}
	return arts, loadTags(ctx, s.db.r, ap.ID, arts...)
}

// UpdateArtifact implements gatehouse.ArtifactService.
func (s *ArtifactService) UpdateArtifact(ctx context.Context, project, app, digest string, in gatehouse.ArtifactUpdate) (*gatehouse.Artifact, error) {
	var after *gatehouse.Artifact
	err := s.db.write(ctx, func(tx *Tx) error {
		before, ap, err := s.changeable(ctx, tx, project, app, digest, gatehouse.ActionPushArtifact)
		if err != nil {
			return err
		}
		if err := in.Validate(); err != nil {
			return err
		}
		moved, err := tx.pointTags(ap.ID, before.ID, in.AddTags)
		if err != nil {
			return err
		}
		for _, t := range in.RemoveTags {
			if _, err := tx.ExecContext(ctx, `DELETE FROM artifact_tags WHERE app_id = $1 AND tag = $2 AND artifact_id = $3`, ap.ID, t, before.ID); err != nil {
				return fmt.Errorf("remove tag: %w", err)
			}
		}
		// Labels are not touched here: in.Validate refused any change of them.
		notes := maps.Clone(before.Notes)
		if notes == nil {
			notes = map[string]string{}
		}
		maps.Copy(notes, in.SetNotes)
		for _, k := range in.RemoveNotes {
			delete(notes, k)
		}
		if err := gatehouse.ValidateNotes("set_notes", notes); err != nil {
			return err
		}
		nj, err := json.Marshal(notes)
		if err != nil {
			return fmt.Errorf("encode notes: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE artifacts SET notes = $1 WHERE id = $2`, string(nj), before.ID); err != nil {
			return fmt.Errorf("update artifact: %w", err)
		}
		if after, err = findArtifact(ctx, tx, ap, digest); err != nil {
			return err
		}
		var details any
		if len(moved) > 0 {
			details = map[string]any{"moved_tags": moved}
		}
		return tx.audit(change{action: "artifact.update", resource: artifactResource(after), target: ap.Target(), before: before, after: after, details: details})
	})
	return after, err
}

// RetractArtifact implements gatehouse.ArtifactService.
func (s *ArtifactService) RetractArtifact(ctx context.Context, project, app, digest string) (*gatehouse.Artifact, error) {
	var after *gatehouse.Artifact
	err := s.db.write(ctx, func(tx *Tx) error {
		before, ap, err := s.changeable(ctx, tx, project, app, digest, gatehouse.ActionManage)
		if err != nil {
			return err
		}
		who := gatehouse.ActorFrom(ctx)
		if _, err := tx.ExecContext(ctx, `DELETE FROM artifact_tags WHERE artifact_id = $1`, before.ID); err != nil {
			return fmt.Errorf("retract artifact: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE artifacts SET retracted_at = $1, retracted_by = $2 WHERE id = $3`,
			micro(tx.now), who.UserName, before.ID); err != nil {
			return fmt.Errorf("retract artifact: %w", err)
		}
		if after, err = findArtifact(ctx, tx, ap, digest); err != nil {
			return err
		}
		if err := tx.audit(change{action: "artifact.retract", resource: artifactResource(after), target: ap.Target(), before: before, after: after}); err != nil {
			return err
		}
		return tx.staleApprovals(func(r openRequest) bool {
			return r.digest == digest && r.target.Project == project && r.target.App == app
		}, fmt.Sprintf("artifact %s was retracted", digest))
	})
	return after, err
}

// changeable loads an artifact for a change: visible, the right held on its app, not retracted.
func (s *ArtifactService) changeable(ctx context.Context, tx *Tx, project, app, digest string, right gatehouse.Action) (*gatehouse.Artifact, *gatehouse.App, error) {
	if err := gatehouse.ValidateDigest("digest", digest); err != nil {
		return nil, nil, err
	}
	who, ap, err := visibleApp(ctx, tx, project, app)
	if err != nil {
		return nil, nil, err
	}
	if err := who.Require(right, ap.Target()); err != nil {
		return nil, nil, err
	}
	art, err := findArtifact(ctx, tx, ap, digest)
	if err != nil {
		return nil, nil, err
	}
	if art.RetractedAt != nil {
		return nil, nil, gatehouse.Errorf(gatehouse.KindPreconditionFailed, "artifact %s was retracted by %s: it can no longer change", digest, art.RetractedBy)
	}
	return art, ap, nil
}
