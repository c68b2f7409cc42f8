-- The chain head's seal: HMAC-SHA256 of (seq, hash) under the audit key (gatehouse.HeadSeal),
-- rewritten with the head. Without it, deleting the events after any event K and pointing the
-- head at K left a shorter chain that verified. SQL cannot compute it (the key is outside the
-- database), so existing heads start unsealed ('') and the store seals them when it opens
-- (sqlstore/auditseal.go says when that is safe).

-- +goose Up
ALTER TABLE audit_head ADD COLUMN mac TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit_head DROP COLUMN mac;
