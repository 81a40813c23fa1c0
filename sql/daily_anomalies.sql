-- One campaign rolled up per day (all creators, all rows), oldest first.
-- Parameters: :tenant_id, :campaign_id. One row per day that has metric rows.
-- Reads the campaign_day_totals rollup (one row per campaign and day, refreshed by every
-- load); the loader builds it from campaign_daily_metrics in the same publish.
--
-- The exact daily totals are returned so that thresholds are compared on unrounded values;
-- ctr and roas are the rounded values to report: 4 places, half away from zero, exactly
-- (floor((20000 * n + d) / (2 * d)) / 10000 with floor(a / b) = (a - a % b) / b; 0 when
-- d = 0; ROAS on cents; the whole quotient CAST back to NUMERIC, as DuckDB divides decimals
-- in double precision). Unknown revenue (NULL) counts as 0. Counts are summed as
-- NUMERIC(38, 0): a sum of BIGINTs can exceed BIGINT.
WITH daily_totals AS (
    SELECT
        d.metric_date,
        CAST(d.impressions AS NUMERIC(38, 0)) AS total_impressions,
        CAST(d.clicks AS NUMERIC(38, 0)) AS total_clicks,
        CAST(d.conversions AS NUMERIC(38, 0)) AS total_conversions,
        CAST(d.spend AS NUMERIC(38, 2)) AS total_spend,
        CAST(COALESCE(d.revenue, 0) AS NUMERIC(38, 2)) AS total_revenue
    FROM campaign_day_totals AS d
    WHERE d.tenant_id = :tenant_id AND d.campaign_id = :campaign_id
),

rate_terms AS (
    SELECT
        t.*,
        20000 * t.total_clicks + t.total_impressions AS ctr_n,
        2 * t.total_impressions AS ctr_d,
        CAST(2000000 * t.total_revenue + 100 * t.total_spend AS NUMERIC(38, 0)) AS roas_n,
        CAST(200 * t.total_spend AS NUMERIC(38, 0)) AS roas_d
    FROM daily_totals AS t
)

SELECT
    r.metric_date,
    r.total_impressions,
    r.total_clicks,
    r.total_conversions,
    r.total_spend,
    r.total_revenue,
    CASE WHEN r.ctr_d = 0 THEN 0.0
        ELSE CAST((r.ctr_n - r.ctr_n % r.ctr_d) / r.ctr_d AS NUMERIC(38, 0)) / 10000.0
    END AS ctr,
    CASE WHEN r.roas_d = 0 THEN 0.0
        ELSE CAST((r.roas_n - r.roas_n % r.roas_d) / r.roas_d AS NUMERIC(38, 0)) / 10000.0
    END AS roas
FROM rate_terms AS r
ORDER BY r.metric_date
