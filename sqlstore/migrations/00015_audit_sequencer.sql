-- Audited writes no longer take the chain head: a request's transaction inserts its event
-- unchained (seq, prev_hash and hash NULL, an auto-assigned id for the order it arrived in, and
-- a seal: the audit key's MAC of its fields, so only the store can queue an event), and one
-- sequencer at a time chains pending events in id order, sets seq, prev_hash and hash, and
-- clears the seal (sqlstore/sequencer.go). SQLite cannot relax a primary key or NOT NULL in
-- place, so the table is rebuilt; existing events keep their seq and take it as their id. The
-- new columns come last, so statements that list the old columns in order still fit.

-- +goose Up
CREATE TABLE audit_events_v2 (
    seq         BIGINT UNIQUE,
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
    prev_hash   TEXT,
    hash        TEXT,
    id          @ID@,
    seal        TEXT
);
INSERT INTO audit_events_v2 (seq, at, actor, actor_kind, via, action, resource, project, app, environment,
        before_json, after_json, details, request_id, source_ip, prev_hash, hash, id)
    SELECT seq, at, actor, actor_kind, via, action, resource, project, app, environment,
        before_json, after_json, details, request_id, source_ip, prev_hash, hash, seq
    FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE audit_events_v2 RENAME TO audit_events;
@RESEQ(audit_events)@
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_project ON audit_events (project, seq);
CREATE INDEX audit_events_actor ON audit_events (actor, seq);
-- The sequencer's queue: only unchained events, so "is anything pending?" costs one probe.
CREATE INDEX audit_events_pending ON audit_events (id) WHERE seq IS NULL;

-- +goose Down
-- Events still pending cannot be kept by the old table: start this version once more (its
-- sequencer chains them) before migrating down.
CREATE TABLE audit_events_v1 (
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
INSERT INTO audit_events_v1 SELECT seq, at, actor, actor_kind, via, action, resource, project, app, environment,
        before_json, after_json, details, request_id, source_ip, prev_hash, hash
    FROM audit_events WHERE seq IS NOT NULL;
DROP TABLE audit_events;
ALTER TABLE audit_events_v1 RENAME TO audit_events;
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_project ON audit_events (project, seq);
CREATE INDEX audit_events_actor ON audit_events (actor, seq);
