-- The dataset a tenant is served: its newest entry of the load ledger. Parameter: :tenant_id.
-- No row before the tenant's first load.
SELECT l.load_id, l.dataset_name, l.checksum
FROM dataset_loads AS l
WHERE l.tenant_id = :tenant_id
ORDER BY l.load_id DESC
LIMIT 1
