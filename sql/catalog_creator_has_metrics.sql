-- Whether a tenant's creator has metric rows (its campaign-creator rollup has a row exactly
-- when its facts do). Parameters: :tenant_id, :item_id.
SELECT 1 AS found
FROM campaign_creator_totals AS t
WHERE t.tenant_id = :tenant_id AND t.creator_id = :item_id
LIMIT 1
