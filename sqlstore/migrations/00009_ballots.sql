-- One ballot engine: drafts of every kind (configuration, settings, policy loosenings,
-- rollbacks) in one table; the votes and approve links of approval requests and drafts in
-- one table each, keyed by flow ('request' or 'draft') and ballot id, votes per version.
-- People, not accounts: tokens record the person who made them; requests, pushes and draft
-- versions record the person they count as. Namespaces remember every environment that used
-- them; environments and deployments say which objects outside their namespace a release may
-- create.

-- +goose Up
CREATE TABLE drafts (
    id                 @ID@,
    kind               TEXT   NOT NULL,
    subject            TEXT   NOT NULL,
    project_id         BIGINT REFERENCES projects (id) ON DELETE CASCADE,
    app_id             BIGINT REFERENCES apps (id) ON DELETE CASCADE,
    environment_id     BIGINT REFERENCES environments (id) ON DELETE CASCADE,
    policy             TEXT   NOT NULL DEFAULT '',
    scope              TEXT   NOT NULL DEFAULT '',
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
INSERT INTO drafts (id, kind, subject, project_id, app_id, environment_id, state, version, base_hash, author, notify, reason,
        published_revision, created_at, updated_at, decided_at)
    SELECT d.id, d.kind, d.kind || '/' || d.app_id || '/' || COALESCE(d.environment_id, 0), a.project_id, d.app_id, d.environment_id,
        d.state, d.version, d.base_hash, d.author, d.notify, d.reason, d.published_revision, d.created_at, d.updated_at, d.decided_at
    FROM config_drafts d JOIN apps a ON a.id = d.app_id;
@RESEQ(drafts)@
-- One open draft per subject.
CREATE UNIQUE INDEX drafts_one_open ON drafts (subject) WHERE state IN ('draft', 'proposed', 'approved');
CREATE INDEX drafts_state ON drafts (state, id);

CREATE TABLE draft_versions (
    draft_id BIGINT NOT NULL REFERENCES drafts (id) ON DELETE CASCADE,
    version  BIGINT NOT NULL,
    body     TEXT   NOT NULL,
    author   TEXT   NOT NULL,
    person   TEXT   NOT NULL DEFAULT '',
    comment  TEXT   NOT NULL DEFAULT '',
    at       BIGINT NOT NULL,
    PRIMARY KEY (draft_id, version)
);
INSERT INTO draft_versions (draft_id, version, body, author, person, comment, at)
    SELECT draft_id, version, body, author, author, comment, at FROM config_draft_versions;

CREATE TABLE draft_comments (
    id       @ID@,
    draft_id BIGINT NOT NULL REFERENCES drafts (id) ON DELETE CASCADE,
    author   TEXT   NOT NULL,
    body     TEXT   NOT NULL,
    at       BIGINT NOT NULL
);
INSERT INTO draft_comments (id, draft_id, author, body, at) SELECT id, draft_id, author, body, at FROM config_draft_comments;
@RESEQ(draft_comments)@
CREATE INDEX draft_comments_draft ON draft_comments (draft_id, id);

CREATE TABLE ballot_votes (
    flow      TEXT    NOT NULL,
    ballot_id BIGINT  NOT NULL,
    version   BIGINT  NOT NULL,
    voter     TEXT    NOT NULL,
    approve   BOOLEAN NOT NULL,
    comment   TEXT    NOT NULL DEFAULT '',
    via       TEXT    NOT NULL,
    at        BIGINT  NOT NULL,
    PRIMARY KEY (flow, ballot_id, version, voter)
);
INSERT INTO ballot_votes (flow, ballot_id, version, voter, approve, comment, via, at)
    SELECT 'request', approval_id, 1, voter, approve, comment, via, at FROM approval_votes;
INSERT INTO ballot_votes (flow, ballot_id, version, voter, approve, comment, via, at)
    SELECT 'draft', draft_id, version, voter, approve, comment, via, at FROM config_draft_votes;

CREATE TABLE ballot_links (
    token_hash TEXT   PRIMARY KEY,
    flow       TEXT   NOT NULL,
    ballot_id  BIGINT NOT NULL,
    user_name  TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
INSERT INTO ballot_links (token_hash, flow, ballot_id, user_name, created_at, expires_at, used_at)
    SELECT token_hash, 'request', approval_id, user_name, created_at, expires_at, used_at FROM approval_links;
INSERT INTO ballot_links (token_hash, flow, ballot_id, user_name, created_at, expires_at, used_at)
    SELECT token_hash, 'draft', draft_id, user_name, created_at, expires_at, used_at FROM config_draft_links;

DROP TABLE config_draft_links;
DROP TABLE config_draft_votes;
DROP TABLE config_draft_comments;
DROP TABLE config_draft_versions;
DROP TABLE config_drafts;
DROP TABLE approval_links;
DROP TABLE approval_votes;

-- The person who made a token: the user for a personal token; for a service account's, the
-- administrator who made it (from the trail, for tokens made before this was kept).
ALTER TABLE api_tokens ADD COLUMN made_by BIGINT REFERENCES users (id);
UPDATE api_tokens SET made_by = user_id WHERE user_id IN (SELECT id FROM users WHERE kind = 'human');
UPDATE api_tokens SET made_by = (SELECT u.id FROM audit_events e JOIN users u ON u.name = e.actor AND u.kind = 'human'
        WHERE e.action = 'token.create' AND e.resource = 'token/' || api_tokens.id ORDER BY e.seq LIMIT 1)
    WHERE made_by IS NULL;

ALTER TABLE approvals ADD COLUMN requester_person TEXT NOT NULL DEFAULT '';
UPDATE approvals SET requester_person = requester WHERE requester IN (SELECT name FROM users WHERE kind = 'human');
ALTER TABLE artifacts ADD COLUMN pusher TEXT NOT NULL DEFAULT '';
UPDATE artifacts SET pusher = created_by WHERE created_by IN (SELECT name FROM users WHERE kind = 'human');

-- Every (API server, namespace) an environment ever used, with the environment that used it
-- last: another environment moves in only through a change its policies approve.
CREATE TABLE namespace_claims (
    server         TEXT   NOT NULL,
    namespace      TEXT   NOT NULL,
    environment_id BIGINT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    claimed_at     BIGINT NOT NULL,
    PRIMARY KEY (server, namespace)
);
INSERT INTO namespace_claims (server, namespace, environment_id, claimed_at)
    SELECT c.server, e.namespace, e.id, e.created_at FROM environments e JOIN clusters c ON c.id = e.cluster_id;

-- Draft events are named for drafts of every kind now.
UPDATE webhooks SET events = REPLACE(events, '"config.', '"draft.');

ALTER TABLE environments ADD COLUMN allow_cluster_scoped BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE environments ADD COLUMN allow_namespaces TEXT NOT NULL DEFAULT '[]';
ALTER TABLE deployments ADD COLUMN object_scope TEXT NOT NULL DEFAULT '{}';

-- +goose Down
UPDATE webhooks SET events = REPLACE(events, '"draft.', '"config.');
-- Going back keeps approval requests' votes and links; drafts are dropped (the old tables,
-- made again empty, held configuration drafts only).
ALTER TABLE deployments DROP COLUMN object_scope;
ALTER TABLE environments DROP COLUMN allow_namespaces;
ALTER TABLE environments DROP COLUMN allow_cluster_scoped;
DROP TABLE namespace_claims;
ALTER TABLE artifacts DROP COLUMN pusher;
ALTER TABLE approvals DROP COLUMN requester_person;
ALTER TABLE api_tokens DROP COLUMN made_by;
CREATE TABLE approval_votes (
    approval_id BIGINT  NOT NULL REFERENCES approvals (id) ON DELETE CASCADE,
    voter       TEXT    NOT NULL,
    approve     BOOLEAN NOT NULL,
    comment     TEXT    NOT NULL DEFAULT '',
    via         TEXT    NOT NULL,
    at          BIGINT  NOT NULL,
    PRIMARY KEY (approval_id, voter)
);
INSERT INTO approval_votes SELECT ballot_id, voter, approve, comment, via, at FROM ballot_votes WHERE flow = 'request';
CREATE TABLE approval_links (
    token_hash  TEXT   PRIMARY KEY,
    approval_id BIGINT NOT NULL REFERENCES approvals (id) ON DELETE CASCADE,
    user_name   TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
INSERT INTO approval_links SELECT token_hash, ballot_id, user_name, created_at, expires_at, used_at FROM ballot_links WHERE flow = 'request';
DROP TABLE ballot_links;
DROP TABLE ballot_votes;
DROP TABLE draft_comments;
DROP TABLE draft_versions;
DROP TABLE drafts;
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
