-- One page of a tenant's campaigns in sync order: (updated_at, campaign_id) strictly after the
-- cursor's position, updated at or after :since. Served by ix_campaigns_sync on PostgreSQL.
-- The bound on updated_at alone is implied by the row comparison; DuckDB, which has no index
-- here, uses it to skip the row groups before the cursor (the row comparison is not pushed
-- into its scan), so a deep page costs no more than the first.
-- Parameters: :tenant_id, :since, :after_at, :after_id, :limit (the page size + 1).
SELECT c.campaign_id AS item_id, c.campaign_name AS name, c.status, c.created_at, c.updated_at
FROM campaigns AS c
WHERE c.tenant_id = :tenant_id
  AND c.updated_at >= CAST(:since AS TIMESTAMP WITH TIME ZONE)
  AND c.updated_at >= CAST(:after_at AS TIMESTAMP WITH TIME ZONE)
  AND (c.updated_at, c.campaign_id) > (CAST(:after_at AS TIMESTAMP WITH TIME ZONE), :after_id)
ORDER BY c.updated_at, c.campaign_id
LIMIT :limit
