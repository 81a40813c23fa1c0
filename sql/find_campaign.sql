-- One campaign by id. Parameter: :campaign_id. Returns one row or none.
SELECT c.campaign_id, c.campaign_name
FROM campaigns AS c
WHERE c.campaign_id = :campaign_id
