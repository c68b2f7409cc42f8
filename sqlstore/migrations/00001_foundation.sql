-- Foundation schema: projects, clusters, environments, apps, pipelines, artifacts, identity,
-- access and the audit chain. Times are microseconds since the Unix epoch (UTC) in both engines.
-- @ID@ is an auto-assigned BIGINT primary key, spelled per engine by the migration loader.

-- +goose Up
CREATE TABLE projects (
    id          @ID@,
    name        TEXT    NOT NULL UNIQUE,
    description TEXT    NOT NULL DEFAULT '',
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);

CREATE TABLE clusters (
    id                @ID@,
    name              TEXT   NOT NULL UNIQUE,
    description       TEXT   NOT NULL DEFAULT '',
    server            TEXT   NOT NULL,
    kubeconfig_sealed TEXT   NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);

CREATE TABLE environments (
    id          @ID@,
    project_id  BIGINT  NOT NULL REFERENCES projects (id),
    name        TEXT    NOT NULL,
    cluster_id  BIGINT  NOT NULL REFERENCES clusters (id),
    namespace   TEXT    NOT NULL,
    production  BOOLEAN NOT NULL DEFAULT FALSE,
    description TEXT    NOT NULL DEFAULT '',
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    UNIQUE (project_id, name),
    UNIQUE (cluster_id, namespace)
);

CREATE TABLE apps (
    id          @ID@,
    project_id  BIGINT NOT NULL REFERENCES projects (id),
    name        TEXT   NOT NULL,
    description TEXT   NOT NULL DEFAULT '',
    chart       TEXT   NOT NULL,
    values_yaml TEXT   NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (project_id, name)
);

CREATE TABLE pipelines (
    app_id     BIGINT PRIMARY KEY REFERENCES apps (id) ON DELETE CASCADE,
    updated_at BIGINT NOT NULL
);

CREATE TABLE pipeline_stages (
    app_id         BIGINT  NOT NULL REFERENCES pipelines (app_id) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    name           TEXT    NOT NULL,
    environment_id BIGINT  NOT NULL REFERENCES environments (id),
    after_stage    TEXT    NOT NULL DEFAULT '',
    trigger_mode   TEXT    NOT NULL,
    PRIMARY KEY (app_id, name)
);

CREATE TABLE artifacts (
    id            @ID@,
    app_id        BIGINT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    repository    TEXT   NOT NULL,
    digest        TEXT   NOT NULL,
    commit_sha    TEXT   NOT NULL DEFAULT '',
    commit_time   BIGINT,
    commit_author TEXT   NOT NULL DEFAULT '',
    builder       TEXT   NOT NULL,
    labels        TEXT   NOT NULL DEFAULT '{}',
    created_by    TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    retracted_at  BIGINT,
    retracted_by  TEXT   NOT NULL DEFAULT '',
    UNIQUE (app_id, digest)
);
CREATE INDEX artifacts_app_created ON artifacts (app_id, id);

CREATE TABLE artifact_tags (
    app_id      BIGINT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    tag         TEXT   NOT NULL,
    artifact_id BIGINT NOT NULL REFERENCES artifacts (id) ON DELETE CASCADE,
    PRIMARY KEY (app_id, tag)
);
CREATE INDEX artifact_tags_artifact ON artifact_tags (artifact_id);

CREATE TABLE users (
    id            @ID@,
    name          TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL DEFAULT '',
    email         TEXT    NOT NULL DEFAULT '',
    kind          TEXT    NOT NULL,
    password_hash TEXT,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);

CREATE TABLE user_groups (
    id          @ID@,
    name        TEXT   NOT NULL UNIQUE,
    description TEXT   NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);

CREATE TABLE group_members (
    group_id BIGINT NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    user_id  BIGINT NOT NULL REFERENCES users (id),
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

CREATE TABLE role_bindings (
    id           @ID@,
    subject_kind TEXT   NOT NULL,
    subject_id   BIGINT NOT NULL,
    role         TEXT   NOT NULL,
    scope        TEXT   NOT NULL,
    created_by   TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (subject_kind, subject_id, role, scope)
);

CREATE TABLE sessions (
    id           @ID@,
    token_hash   TEXT   NOT NULL UNIQUE,
    user_id      BIGINT NOT NULL REFERENCES users (id),
    csrf_token   TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id           @ID@,
    user_id      BIGINT NOT NULL REFERENCES users (id),
    name         TEXT   NOT NULL,
    prefix       TEXT   NOT NULL,
    token_hash   TEXT   NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE audit_events (
    seq         BIGINT PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor       TEXT   NOT NULL,
    actor_kind  TEXT   NOT NULL,
    via         TEXT   NOT NULL,
    action      TEXT   NOT NULL,
    resource    TEXT   NOT NULL,
    project     TEXT   NOT NULL DEFAULT '',
    app         TEXT   NOT NULL DEFAULT '',
    environment TEXT   NOT NULL DEFAULT '',
    before_json TEXT,
    after_json  TEXT,
    details     TEXT,
    request_id  TEXT   NOT NULL DEFAULT '',
    source_ip   TEXT   NOT NULL DEFAULT '',
    prev_hash   TEXT   NOT NULL,
    hash        TEXT   NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_project ON audit_events (project, seq);
CREATE INDEX audit_events_actor ON audit_events (actor, seq);

-- The head of the chain: the last sequence number and hash. Writers lock this row, so events
-- get gapless sequence numbers in commit order.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT   NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');

-- +goose Down
DROP TABLE audit_head;
DROP TABLE audit_events;
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE role_bindings;
DROP TABLE group_members;
DROP TABLE user_groups;
DROP TABLE users;
DROP TABLE artifact_tags;
DROP TABLE artifacts;
DROP TABLE pipeline_stages;
DROP TABLE pipelines;
DROP TABLE apps;
DROP TABLE environments;
DROP TABLE clusters;
DROP TABLE projects;
