-- The best creators of one campaign, with their totals over the whole campaign.
-- Parameters: :tenant_id, :campaign_id, :limit. At most :limit rows; none when the campaign has no rows.
--
-- * Ranked by conversions desc, then clicks desc, then creator_id asc. Ids compare as plain
--   strings (byte order: 'crt-10' < 'crt-9'); PostgreSQL columns use the "C" collation.
-- * ctr = clicks / impressions rounded to 4 places half away from zero, exactly:
--   floor((20000 * n + d) / (2 * d)) / 10000 with floor(a / b) = (a - a % b) / b; 0 when d = 0.
--   The whole quotient is CAST back to NUMERIC: DuckDB divides decimals in double precision.
-- * Reads the campaign_creator_totals rollup (one row per campaign and creator, summed over
--   the whole campaign; refreshed by every load from campaign_daily_metrics in the same
--   publish). On PostgreSQL its ranking index returns the first :limit rows without a sort.
WITH ranked AS (
    SELECT
        t.campaign_id,
        t.creator_id,
        CAST(t.impressions AS NUMERIC(38, 0)) AS total_impressions,
        CAST(t.clicks AS NUMERIC(38, 0)) AS total_clicks,
        CAST(t.conversions AS NUMERIC(38, 0)) AS total_conversions,
        CAST(t.spend AS NUMERIC(38, 2)) AS total_spend,
        20000 * t.clicks + t.impressions AS ctr_n,
        2 * t.impressions AS ctr_d
    FROM campaign_creator_totals AS t
    WHERE t.tenant_id = :tenant_id AND t.campaign_id = :campaign_id
    ORDER BY t.conversions DESC, t.clicks DESC, t.creator_id ASC
    LIMIT :limit
)

SELECT
    r.campaign_id,
    r.creator_id,
    cr.creator_name,
    r.total_impressions,
    r.total_clicks,
    r.total_conversions,
    r.total_spend,
    CASE WHEN r.ctr_d = 0 THEN 0.0
        ELSE CAST((r.ctr_n - r.ctr_n % r.ctr_d) / r.ctr_d AS NUMERIC(38, 0)) / 10000.0
    END AS ctr
FROM ranked AS r
INNER JOIN creators AS cr
    ON cr.tenant_id = :tenant_id AND cr.creator_id = r.creator_id
ORDER BY r.total_conversions DESC, r.total_clicks DESC, r.creator_id ASC
