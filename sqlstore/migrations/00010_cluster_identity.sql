-- Cluster identity: what a cluster says it is (the UID of its kube-system namespace), as
-- Gatehouse last saw it. Many URLs reach one API server, so namespace claims keyed by URL
-- alone could be walked around by registering the same cluster twice; the identity is one
-- per Kubernetes cluster, and unique here. Unknown (NULL) until Gatehouse reaches it.

-- +goose Up
ALTER TABLE clusters ADD COLUMN identity TEXT;
CREATE UNIQUE INDEX clusters_identity ON clusters (identity);

-- +goose Down
DROP INDEX clusters_identity;
ALTER TABLE clusters DROP COLUMN identity;
