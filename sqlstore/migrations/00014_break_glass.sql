-- Break-glass: a deployment keeps the reason a person gave for starting it past closed
-- windows or the image gate, and each such use has a review: a ballot (flow 'review', its
-- votes in ballot_votes) that the approvers of what it passed over acknowledge by due_at.
-- reason is the ballot's own (as every flow's); why is what the person wrote.

-- +goose Up
ALTER TABLE deployments ADD COLUMN break_glass TEXT NOT NULL DEFAULT '';

CREATE TABLE reviews (
    id             @ID@,
    deployment_id  BIGINT NOT NULL UNIQUE REFERENCES deployments (id) ON DELETE CASCADE,
    app_id         BIGINT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    environment_id BIGINT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    by_person      TEXT   NOT NULL,
    why            TEXT   NOT NULL,
    skipped        TEXT   NOT NULL,
    judged_by      TEXT   NOT NULL,
    windows        TEXT   NOT NULL,
    state          TEXT   NOT NULL,
    reason         TEXT   NOT NULL DEFAULT '',
    due_at         BIGINT NOT NULL,
    reminded_at    BIGINT,
    created_at     BIGINT NOT NULL,
    decided_at     BIGINT
);
CREATE INDEX reviews_due ON reviews (due_at) WHERE state = 'open';

-- +goose Down
DROP TABLE reviews;
ALTER TABLE deployments DROP COLUMN break_glass;
