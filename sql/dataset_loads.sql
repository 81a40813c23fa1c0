-- The load ledger, newest first: each published dataset, when its publish committed,
-- how many metric rows it held, its checksum and who loaded it.
SELECT l.load_id, l.dataset_name, l.finished_at, l.metric_rows, l.checksum, l.loaded_by
FROM dataset_loads AS l
ORDER BY l.load_id DESC
LIMIT :limit
