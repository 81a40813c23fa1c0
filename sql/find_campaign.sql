-- One campaign of a tenant by id. Parameters: :tenant_id, :campaign_id. One row or none.
SELECT c.campaign_id, c.campaign_name
FROM campaigns AS c
WHERE c.tenant_id = :tenant_id AND c.campaign_id = :campaign_id
