-- The version of everything a tenant's answers are made of: its newest load (the load
-- ledger) and its catalog clock, which every catalog write, threshold write, load and
-- alert-storing scan of the tenant moves forward in its own transaction.
-- Parameter: :tenant_id. One row; NULLs before the tenant's first load or write.
SELECT
    (SELECT max(l.load_id) FROM dataset_loads AS l WHERE l.tenant_id = :tenant_id) AS load_id,
    (SELECT c.last_at FROM catalog_clocks AS c WHERE c.tenant_id = :tenant_id) AS written_at
