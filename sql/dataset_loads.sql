-- The load ledger of every tenant, newest first: each published dataset, its tenant, when
-- its publish committed, how many metric rows it held, its checksum and who loaded it.
-- Operators' view (`analytics datasets`); the API never runs it. Parameter: :limit.
SELECT l.load_id, l.tenant_id, l.dataset_name, l.finished_at, l.metric_rows, l.checksum, l.loaded_by
FROM dataset_loads AS l
ORDER BY l.load_id DESC
LIMIT :limit
