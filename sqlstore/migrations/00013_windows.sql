-- Deployment windows, and the automatic deployments that met a closed one and wait for it to
-- open. A window is stored as its spec (JSON) with its name and scope apart, for lookups. A
-- wait keeps what starting the deployment again needs (the path that asked for it is judged
-- again when the window opens) and when to look next; at most one waits per app, environment
-- and digest. Drafts of windows name the window.

-- +goose Up
CREATE TABLE windows (
    id         @ID@,
    name       TEXT   NOT NULL UNIQUE,
    scope      TEXT   NOT NULL,
    spec       TEXT   NOT NULL,
    version    BIGINT NOT NULL,
    updated_by TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE deployment_waits (
    id             @ID@,
    app_id         BIGINT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    environment_id BIGINT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    stage          TEXT   NOT NULL,
    digest         TEXT   NOT NULL,
    kind           TEXT   NOT NULL,
    rollback_of    BIGINT REFERENCES deployments (id) ON DELETE CASCADE,
    triggered_by   TEXT   NOT NULL,
    state          TEXT   NOT NULL,
    verdict        TEXT   NOT NULL,
    message        TEXT   NOT NULL,
    check_at       BIGINT NOT NULL,
    deployment_id  BIGINT REFERENCES deployments (id) ON DELETE SET NULL,
    created_at     BIGINT NOT NULL,
    ended_at       BIGINT
);
CREATE UNIQUE INDEX deployment_waits_one ON deployment_waits (app_id, environment_id, digest) WHERE state = 'waiting';
CREATE INDEX deployment_waits_due ON deployment_waits (check_at) WHERE state = 'waiting';
CREATE INDEX deployment_waits_app ON deployment_waits (app_id, id);

ALTER TABLE drafts ADD COLUMN window_name TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE drafts DROP COLUMN window_name;
DROP TABLE deployment_waits;
DROP TABLE windows;
