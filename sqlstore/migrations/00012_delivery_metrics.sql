-- Delivery metrics: the moments ballots reach their states, kept apart from decided_at (which a
-- later move overwrites), so lead time can be split into stages: when a request was approved,
-- when a draft was first proposed, last approved and published. Earlier ballots take them
-- from the audit trail. Indexes let the metrics read one period of one environment's
-- deployments, the first success of a digest and the rollbacks without scanning history.

-- +goose Up
ALTER TABLE approvals ADD COLUMN approved_at BIGINT;
ALTER TABLE drafts ADD COLUMN proposed_at BIGINT;
ALTER TABLE drafts ADD COLUMN approved_at BIGINT;
ALTER TABLE drafts ADD COLUMN published_at BIGINT;

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

-- Covering: the metrics read a period of an environment from the index alone, never the rows
-- (which carry the values and chart of every deployment).
CREATE INDEX deployments_env_finished ON deployments (environment_id, finished_at, id, app_id, state, kind, rollback_of,
    created_at, started_at, artifact_id, approval_id, digest);
CREATE INDEX deployments_first_success ON deployments (app_id, environment_id, digest, id) WHERE state = 'succeeded';
CREATE INDEX deployments_rollbacks ON deployments (environment_id, created_at) WHERE kind = 'rollback';
CREATE INDEX drafts_published ON drafts (project_id, published_at) WHERE state = 'published';

-- +goose Down
DROP INDEX drafts_published;
DROP INDEX deployments_rollbacks;
DROP INDEX deployments_first_success;
DROP INDEX deployments_env_finished;
ALTER TABLE drafts DROP COLUMN published_at;
ALTER TABLE drafts DROP COLUMN approved_at;
ALTER TABLE drafts DROP COLUMN proposed_at;
ALTER TABLE approvals DROP COLUMN approved_at;
