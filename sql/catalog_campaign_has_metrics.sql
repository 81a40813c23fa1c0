-- Whether a tenant's campaign has metric rows (its day rollup has a row exactly when its
-- facts do: both are written by the same load). Parameters: :tenant_id, :item_id.
SELECT 1 AS found
FROM campaign_day_totals AS t
WHERE t.tenant_id = :tenant_id AND t.campaign_id = :item_id
LIMIT 1
