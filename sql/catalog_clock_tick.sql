-- The next catalog timestamp of a tenant, taking its clock row's lock until the transaction
-- ends: max(now, last + 1 µs). Writers of one tenant thus commit in the order of their
-- timestamps, and `updated_at` strictly increases in commit order.
-- Parameters: :tenant_id, :now (the caller's UTC time). One row: last_at.
INSERT INTO catalog_clocks (tenant_id, last_at)
VALUES (:tenant_id, CAST(:now AS TIMESTAMP WITH TIME ZONE))
ON CONFLICT (tenant_id) DO UPDATE
SET last_at = GREATEST(excluded.last_at, catalog_clocks.last_at + INTERVAL '1 microsecond')
RETURNING last_at
