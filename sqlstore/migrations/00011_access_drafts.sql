-- Access drafts: who may vote is a setting that decides what runs. A draft of kind access
-- changes the roles of a user or a group, or a group's members; principal names which
-- ("user/NAME" or "group/NAME"), and scope (as for policy drafts) decides who sees it.

-- +goose Up
ALTER TABLE drafts ADD COLUMN principal TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE drafts DROP COLUMN principal;
