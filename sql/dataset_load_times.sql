-- When each tenant's current dataset was loaded (its newest ledger entry): the dataset
-- ages of the metrics exposition. Tenant ids and times only.
SELECT tenant_id, MAX(finished_at) AS loaded_at
FROM dataset_loads
GROUP BY tenant_id
