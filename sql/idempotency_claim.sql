-- Claim an Idempotency-Key of a tenant; does nothing when the key is already held (the
-- caller then reads the holder's row). Parameters: :tenant_id, :idempotency_key,
-- :fingerprint, :claim_id, :created_at.
INSERT INTO idempotency_keys (tenant_id, idempotency_key, fingerprint, claim_id, created_at)
VALUES (:tenant_id, :idempotency_key, :fingerprint, :claim_id,
        CAST(:created_at AS TIMESTAMP WITH TIME ZONE))
ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
