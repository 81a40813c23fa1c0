-- The anomaly scan's next batch of a tenant's campaigns, by id (keyset: ids after :after;
-- '' before the first, as ids are never empty). Parameters: :tenant_id, :after, :limit.
SELECT c.campaign_id
FROM campaigns AS c
WHERE c.tenant_id = :tenant_id AND c.campaign_id > :after
ORDER BY c.campaign_id
LIMIT :limit
