-- Deploy engine: app hooks and config revisions, per-environment overrides, stage settings,
-- deployments with their events. At most one deployment of an app to an environment (one Helm
-- release) is active at a time, which the partial unique index enforces whatever the workers do.

-- +goose Up
ALTER TABLE apps ADD COLUMN hooks TEXT NOT NULL DEFAULT '{}';
ALTER TABLE apps ADD COLUMN config_revision BIGINT NOT NULL DEFAULT 1;
ALTER TABLE pipeline_stages ADD COLUMN timeout TEXT NOT NULL DEFAULT '';
ALTER TABLE pipeline_stages ADD COLUMN auto_rollback BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE app_overrides (
    app_id         BIGINT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    environment_id BIGINT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    values_yaml    TEXT   NOT NULL,
    PRIMARY KEY (app_id, environment_id)
);

CREATE TABLE deployments (
    id              @ID@,
    app_id          BIGINT  NOT NULL REFERENCES apps (id),
    environment_id  BIGINT  NOT NULL REFERENCES environments (id),
    stage           TEXT    NOT NULL,
    cluster         TEXT    NOT NULL,
    namespace       TEXT    NOT NULL,
    release_name    TEXT    NOT NULL,
    artifact_id     BIGINT  NOT NULL REFERENCES artifacts (id),
    image           TEXT    NOT NULL,
    digest          TEXT    NOT NULL,
    config_revision BIGINT  NOT NULL,
    values_yaml     TEXT    NOT NULL,
    chart           TEXT    NOT NULL,
    hooks           TEXT    NOT NULL,
    timeout_ms      BIGINT  NOT NULL,
    auto_rollback   BOOLEAN NOT NULL,
    kind            TEXT    NOT NULL,
    rollback_of     BIGINT,
    state           TEXT    NOT NULL,
    cause           TEXT    NOT NULL DEFAULT '',
    helm_revision   INTEGER NOT NULL DEFAULT 0,
    triggered_by    TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    started_at      BIGINT,
    finished_at     BIGINT,
    lease_owner     TEXT    NOT NULL DEFAULT '',
    lease_until     BIGINT  NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX deployments_one_active ON deployments (app_id, environment_id)
    WHERE state IN ('pre-deploy', 'applying', 'verifying', 'post-deploy');
CREATE INDEX deployments_app ON deployments (app_id, id);
CREATE INDEX deployments_env ON deployments (environment_id, id);
CREATE INDEX deployments_state ON deployments (state, lease_until);

CREATE TABLE deployment_events (
    deployment_id BIGINT  NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    at            BIGINT  NOT NULL,
    step          TEXT    NOT NULL,
    message       TEXT    NOT NULL,
    PRIMARY KEY (deployment_id, seq)
);

-- +goose Down
DROP TABLE deployment_events;
DROP TABLE deployments;
DROP TABLE app_overrides;
ALTER TABLE pipeline_stages DROP COLUMN auto_rollback;
ALTER TABLE pipeline_stages DROP COLUMN timeout;
ALTER TABLE apps DROP COLUMN config_revision;
ALTER TABLE apps DROP COLUMN hooks;
