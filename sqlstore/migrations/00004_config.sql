-- Protected configuration: every per-environment configuration resource (values overrides,
-- configmap, secrets — the latter sealed) in one table; drafts of protected resources with
-- their versions (secrets sealed), comments, votes (per version) and approve-by-e-mail links;
-- deployments keep their secrets sealed apart from their values, and the configuration
-- changes since the environment's previous deployment.

-- +goose Up
CREATE TABLE config_items (
    app_id         BIGINT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    environment_id BIGINT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    kind           TEXT   NOT NULL,
    body           TEXT   NOT NULL,
    PRIMARY KEY (app_id, environment_id, kind)
);
INSERT INTO config_items (app_id, environment_id, kind, body)
    SELECT app_id, environment_id, 'values', values_yaml FROM app_overrides;
DROP TABLE app_overrides;

CREATE TABLE config_drafts (
    id                 @ID@,
    app_id             BIGINT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    environment_id     BIGINT REFERENCES environments (id) ON DELETE CASCADE,
    kind               TEXT   NOT NULL,
    state              TEXT   NOT NULL,
    version            BIGINT NOT NULL,
    base_hash          TEXT   NOT NULL,
    author             TEXT   NOT NULL,
    notify             TEXT   NOT NULL DEFAULT '[]',
    reason             TEXT   NOT NULL DEFAULT '',
    published_revision BIGINT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    decided_at         BIGINT
);
-- One open draft per resource.
CREATE UNIQUE INDEX config_drafts_one_open ON config_drafts (app_id, COALESCE(environment_id, 0), kind)
    WHERE state IN ('draft', 'proposed', 'approved');
CREATE INDEX config_drafts_state ON config_drafts (state, id);

CREATE TABLE config_draft_versions (
    draft_id BIGINT NOT NULL REFERENCES config_drafts (id) ON DELETE CASCADE,
    version  BIGINT NOT NULL,
    body     TEXT   NOT NULL,
    author   TEXT   NOT NULL,
    comment  TEXT   NOT NULL DEFAULT '',
    at       BIGINT NOT NULL,
    PRIMARY KEY (draft_id, version)
);

CREATE TABLE config_draft_comments (
    id       @ID@,
    draft_id BIGINT NOT NULL REFERENCES config_drafts (id) ON DELETE CASCADE,
    author   TEXT   NOT NULL,
    body     TEXT   NOT NULL,
    at       BIGINT NOT NULL
);
CREATE INDEX config_draft_comments_draft ON config_draft_comments (draft_id, id);

CREATE TABLE config_draft_votes (
    draft_id BIGINT  NOT NULL REFERENCES config_drafts (id) ON DELETE CASCADE,
    version  BIGINT  NOT NULL,
    voter    TEXT    NOT NULL,
    approve  BOOLEAN NOT NULL,
    comment  TEXT    NOT NULL DEFAULT '',
    via      TEXT    NOT NULL,
    at       BIGINT  NOT NULL,
    PRIMARY KEY (draft_id, version, voter)
);

CREATE TABLE config_draft_links (
    token_hash TEXT   PRIMARY KEY,
    draft_id   BIGINT NOT NULL REFERENCES config_drafts (id) ON DELETE CASCADE,
    user_name  TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);

ALTER TABLE deployments ADD COLUMN secrets_sealed TEXT NOT NULL DEFAULT '';
ALTER TABLE deployments ADD COLUMN config_changes TEXT NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE deployments DROP COLUMN config_changes;
ALTER TABLE deployments DROP COLUMN secrets_sealed;
DROP TABLE config_draft_links;
DROP TABLE config_draft_votes;
DROP TABLE config_draft_comments;
DROP TABLE config_draft_versions;
DROP TABLE config_drafts;
CREATE TABLE app_overrides (
    app_id         BIGINT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    environment_id BIGINT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    values_yaml    TEXT   NOT NULL,
    PRIMARY KEY (app_id, environment_id)
);
INSERT INTO app_overrides (app_id, environment_id, values_yaml)
    SELECT app_id, environment_id, body FROM config_items WHERE kind = 'values';
DROP TABLE config_items;
