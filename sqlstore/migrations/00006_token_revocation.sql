-- Tokens say why they were revoked: by whom, or because their owner's password changed (which
-- revokes the owner's interactive tokens, those made by signing in with the password).

-- +goose Up
ALTER TABLE api_tokens ADD COLUMN revoked_reason TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE api_tokens DROP COLUMN revoked_reason;
