-- Approval gates: policies, approval requests with their votes, single-use approve-by-e-mail
-- links, project webhooks; tokens learn whether a person made them by signing in; deployments
-- record the approval they consumed (or that a rollback went through pre-approved).

-- +goose Up
ALTER TABLE api_tokens ADD COLUMN interactive BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE policies (
    id          @ID@,
    name        TEXT   NOT NULL UNIQUE,
    description TEXT   NOT NULL DEFAULT '',
    scope       TEXT   NOT NULL,
    spec        TEXT   NOT NULL,
    version     BIGINT NOT NULL,
    updated_by  TEXT   NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE approvals (
    id             @ID@,
    app_id         BIGINT NOT NULL REFERENCES apps (id),
    environment_id BIGINT NOT NULL REFERENCES environments (id),
    stage          TEXT   NOT NULL,
    artifact_id    BIGINT NOT NULL REFERENCES artifacts (id),
    image          TEXT   NOT NULL,
    digest         TEXT   NOT NULL,
    policies       TEXT   NOT NULL,
    requester      TEXT   NOT NULL,
    comment        TEXT   NOT NULL DEFAULT '',
    labels         TEXT   NOT NULL DEFAULT '{}',
    notify         TEXT   NOT NULL DEFAULT '[]',
    state          TEXT   NOT NULL,
    reason         TEXT   NOT NULL DEFAULT '',
    deployment_id  BIGINT,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT,
    decided_at     BIGINT
);
-- One open request per artifact and stage.
CREATE UNIQUE INDEX approvals_one_open ON approvals (app_id, environment_id, digest)
    WHERE state IN ('pending', 'approved');
CREATE INDEX approvals_state ON approvals (state, expires_at);
CREATE INDEX approvals_app ON approvals (app_id, id);

CREATE TABLE approval_votes (
    approval_id BIGINT  NOT NULL REFERENCES approvals (id) ON DELETE CASCADE,
    voter       TEXT    NOT NULL,
    approve     BOOLEAN NOT NULL,
    comment     TEXT    NOT NULL DEFAULT '',
    via         TEXT    NOT NULL,
    at          BIGINT  NOT NULL,
    PRIMARY KEY (approval_id, voter)
);

CREATE TABLE approval_links (
    token_hash  TEXT   PRIMARY KEY,
    approval_id BIGINT NOT NULL REFERENCES approvals (id) ON DELETE CASCADE,
    user_name   TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);

CREATE TABLE webhooks (
    id            @ID@,
    project_id    BIGINT NOT NULL REFERENCES projects (id),
    name          TEXT   NOT NULL,
    url_sealed    TEXT   NOT NULL,
    url_host      TEXT   NOT NULL,
    format        TEXT   NOT NULL,
    secret_sealed TEXT   NOT NULL DEFAULT '',
    events        TEXT   NOT NULL,
    created_by    TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    UNIQUE (project_id, name)
);

ALTER TABLE deployments ADD COLUMN approval_id BIGINT;
ALTER TABLE deployments ADD COLUMN pre_approved BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE deployments DROP COLUMN pre_approved;
ALTER TABLE deployments DROP COLUMN approval_id;
DROP TABLE webhooks;
DROP TABLE approval_links;
DROP TABLE approval_votes;
DROP TABLE approvals;
DROP TABLE policies;
ALTER TABLE api_tokens DROP COLUMN interactive;
