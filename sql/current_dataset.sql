-- The dataset being served: the newest entry of the load ledger. No row before any load.
SELECT l.load_id, l.dataset_name, l.checksum
FROM dataset_loads AS l
ORDER BY l.load_id DESC
LIMIT 1
