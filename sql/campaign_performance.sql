-- Totals of one campaign over all of its metric rows.
-- Parameters: :tenant_id, :campaign_id. One row, or none when the tenant has no such campaign.
-- Sums the campaign_day_totals rollup (at most one row per day; refreshed by every load
-- from campaign_daily_metrics in the same publish), which holds the same exact sums.
--
-- * A campaign without metric rows gets zero totals (the aggregate of no rows, COALESCEd).
-- * Unknown revenue (NULL) counts as 0.
-- * Rates are rounded to 4 places, half away from zero, with exact arithmetic so that every
--   engine prints the same digits (binary floating point is never involved before the last
--   division). For n >= 0 and d > 0:
--       round(n / d, 4) = floor((20000 * n + d) / (2 * d)) / 10000
--       floor(a / b)    = (a - a % b) / b
--   (a - a % b) / b is a whole number; it is CAST back to NUMERIC because some engines
--   (DuckDB) divide decimals in double precision, which is inexact for large totals.
--   A rate whose denominator is 0 is 0. ROAS is computed on cents.
-- * Counts are summed as NUMERIC(38, 0): a sum of BIGINTs can exceed BIGINT.
WITH totals AS (
    SELECT
        CAST(COALESCE(SUM(m.impressions), 0) AS NUMERIC(38, 0)) AS total_impressions,
        CAST(COALESCE(SUM(m.clicks), 0) AS NUMERIC(38, 0)) AS total_clicks,
        CAST(COALESCE(SUM(m.conversions), 0) AS NUMERIC(38, 0)) AS total_conversions,
        CAST(COALESCE(SUM(m.spend), 0) AS NUMERIC(38, 2)) AS total_spend,
        CAST(COALESCE(SUM(m.revenue), 0) AS NUMERIC(38, 2)) AS total_revenue
    FROM campaign_day_totals AS m
    WHERE m.tenant_id = :tenant_id AND m.campaign_id = :campaign_id
),

rate_terms AS (
    SELECT
        t.*,
        20000 * t.total_clicks + t.total_impressions AS ctr_n,
        2 * t.total_impressions AS ctr_d,
        20000 * t.total_conversions + t.total_clicks AS cvr_n,
        2 * t.total_clicks AS cvr_d,
        CAST(2000000 * t.total_revenue + 100 * t.total_spend AS NUMERIC(38, 0)) AS roas_n,
        CAST(200 * t.total_spend AS NUMERIC(38, 0)) AS roas_d
    FROM totals AS t
)

SELECT
    c.campaign_id,
    c.campaign_name,
    r.total_impressions,
    r.total_clicks,
    r.total_conversions,
    r.total_spend,
    r.total_revenue,
    CASE WHEN r.ctr_d = 0 THEN 0.0
        ELSE CAST((r.ctr_n - r.ctr_n % r.ctr_d) / r.ctr_d AS NUMERIC(38, 0)) / 10000.0
    END AS ctr,
    CASE WHEN r.cvr_d = 0 THEN 0.0
        ELSE CAST((r.cvr_n - r.cvr_n % r.cvr_d) / r.cvr_d AS NUMERIC(38, 0)) / 10000.0
    END AS cvr,
    CASE WHEN r.roas_d = 0 THEN 0.0
        ELSE CAST((r.roas_n - r.roas_n % r.roas_d) / r.roas_d AS NUMERIC(38, 0)) / 10000.0
    END AS roas
FROM campaigns AS c
CROSS JOIN rate_terms AS r
WHERE c.tenant_id = :tenant_id AND c.campaign_id = :campaign_id
