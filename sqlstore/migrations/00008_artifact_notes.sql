-- Artifact notes: what is added to an artifact after its push. Labels are fixed at push
-- because policy conditions read them; notes may change later and no condition reads them.
-- Labels changed after the push before this migration stay labels: nothing here can tell them
-- from labels set at push (the artifact.update events of the audit trail can).

-- +goose Up
ALTER TABLE artifacts ADD COLUMN notes TEXT NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE artifacts DROP COLUMN notes;
