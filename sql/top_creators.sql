-- The best creators of one campaign, with their totals over the whole campaign.
-- Parameters: :campaign_id, :limit. At most :limit rows; none when the campaign has no rows.
--
-- * Ranked by conversions desc, then clicks desc, then creator_id asc. Ids compare as plain
--   strings (byte order: 'crt-10' < 'crt-9'); PostgreSQL columns use the "C" collation.
-- * ctr = clicks / impressions rounded to 4 places half away from zero, exactly:
--   floor((20000 * n + d) / (2 * d)) / 10000 with floor(a / b) = (a - a % b) / b; 0 when d = 0.
--   The whole quotient is CAST back to NUMERIC: DuckDB divides decimals in double precision.
-- * Counts are summed as NUMERIC(38, 0): a sum of BIGINTs can exceed BIGINT.
WITH creator_totals AS (
    SELECT
        m.campaign_id,
        m.creator_id,
        CAST(SUM(m.impressions) AS NUMERIC(38, 0)) AS total_impressions,
        CAST(SUM(m.clicks) AS NUMERIC(38, 0)) AS total_clicks,
        CAST(SUM(m.conversions) AS NUMERIC(38, 0)) AS total_conversions,
        CAST(SUM(m.spend) AS NUMERIC(38, 2)) AS total_spend
    FROM campaign_daily_metrics AS m
    WHERE m.campaign_id = :campaign_id
    GROUP BY m.campaign_id, m.creator_id
),

ranked AS (
    SELECT
        t.*,
        20000 * t.total_clicks + t.total_impressions AS ctr_n,
        2 * t.total_impressions AS ctr_d
    FROM creator_totals AS t
    ORDER BY t.total_conversions DESC, t.total_clicks DESC, t.creator_id ASC
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
INNER JOIN creators AS cr ON cr.creator_id = r.creator_id
ORDER BY r.total_conversions DESC, r.total_clicks DESC, r.creator_id ASC
