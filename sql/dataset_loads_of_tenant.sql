-- The load ledger of one tenant, newest first (see dataset_loads.sql).
-- Parameters: :tenant_id, :limit.
SELECT l.load_id, l.tenant_id, l.dataset_name, l.finished_at, l.metric_rows, l.checksum, l.loaded_by
FROM dataset_loads AS l
WHERE l.tenant_id = :tenant_id
ORDER BY l.load_id DESC
LIMIT :limit
