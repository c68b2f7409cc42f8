-- Delivery metrics: the moments ballots reach their states, kept apart from decided_at (which a
-- later move overwrites), so lead time can be split into stages: when a request was approved,
-- when a draft was first proposed, last approved and published. Earlier ballots take them
-- from the audit trail. A deployment keeps its artifact's commit and push times (which never
-- change) and whether it was the first of its digest to succeed in its environment (decided
-- when it succeeds), so a period of an environment is read from one covering index.

-- +goose Up
ALTER TABLE approvals ADD COLUMN approved_at BIGINT;
ALTER TABLE drafts ADD COLUMN proposed_at BIGINT;
ALTER TABLE drafts ADD COLUMN approved_at BIGINT;
ALTER TABLE drafts ADD COLUMN published_at BIGINT;
ALTER TABLE deployments ADD COLUMN commit_time BIGINT;
ALTER TABLE deployments ADD COLUMN pushed_at BIGINT;
ALTER TABLE deployments ADD COLUMN first_success BOOLEAN NOT NULL DEFAULT FALSE;

UPDATE approvals SET approved_at = m.at
    FROM (SELECT resource, MAX(at) AS at FROM audit_events WHERE action = 'approval.approved' GROUP BY resource) m
    WHERE m.resource = 'approval/' || approvals.id;
UPDATE drafts SET proposed_at = m.at
    FROM (SELECT resource, MIN(at) AS at FROM audit_events WHERE action = 'draft.proposed' GROUP BY resource) m
    WHERE m.resource = 'draft/' || drafts.id;
UPDATE drafts SET approved_at = m.at
    FROM (SELECT resource, MAX(at) AS at FROM audit_events WHERE action = 'draft.approved' GROUP BY resource) m
    WHERE m.resource = 'draft/' || drafts.id;
UPDATE drafts SET published_at = decided_at WHERE state = 'published';
UPDATE deployments SET commit_time = (SELECT a.commit_time FROM artifacts a WHERE a.id = deployments.artifact_id),
    pushed_at = (SELECT a.created_at FROM artifacts a WHERE a.id = deployments.artifact_id);

CREATE INDEX deployments_first_success ON deployments (app_id, environment_id, digest, id) WHERE state = 'succeeded';
UPDATE deployments SET first_success = TRUE WHERE state = 'succeeded' AND NOT EXISTS (SELECT 1 FROM deployments f
    WHERE f.app_id = deployments.app_id AND f.environment_id = deployments.environment_id AND f.digest = deployments.digest
    AND f.state = 'succeeded' AND f.id < deployments.id);
-- Covering: the metrics read a period of an environment from the index alone, never the rows
-- (which carry the values and chart of every deployment).
CREATE INDEX deployments_env_finished ON deployments (environment_id, finished_at, state, app_id, id, first_success,
    commit_time, pushed_at, created_at, started_at, approval_id);
CREATE INDEX deployments_successes ON deployments (app_id, environment_id, finished_at) WHERE state = 'succeeded';
CREATE INDEX deployments_rollbacks ON deployments (environment_id, created_at) WHERE kind = 'rollback';
CREATE INDEX drafts_published ON drafts (project_id, published_at) WHERE state = 'published';

-- +goose Down
DROP INDEX deployments_successes;
DROP INDEX drafts_published;
DROP INDEX deployments_rollbacks;
DROP INDEX deployments_first_success;
DROP INDEX deployments_env_finished;
ALTER TABLE deployments DROP COLUMN first_success;
ALTER TABLE deployments DROP COLUMN pushed_at;
ALTER TABLE deployments DROP COLUMN commit_time;
ALTER TABLE drafts DROP COLUMN published_at;
ALTER TABLE drafts DROP COLUMN approved_at;
ALTER TABLE drafts DROP COLUMN proposed_at;
ALTER TABLE approvals DROP COLUMN approved_at;
