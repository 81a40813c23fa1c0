-- The days of a batch of campaigns (ids :first to :last), as daily_anomalies.sql gives
-- them for one campaign: the anomaly scan reads a batch in one statement.
-- Parameters: :tenant_id, :first, :last. Exact totals plus the rounded ctr and roas (see
-- daily_anomalies.sql for the rounding).
WITH daily_totals AS (
    SELECT
        d.campaign_id,
        d.metric_date,
        CAST(d.impressions AS NUMERIC(38, 0)) AS total_impressions,
        CAST(d.clicks AS NUMERIC(38, 0)) AS total_clicks,
        CAST(d.conversions AS NUMERIC(38, 0)) AS total_conversions,
        CAST(d.spend AS NUMERIC(38, 2)) AS total_spend,
        CAST(COALESCE(d.revenue, 0) AS NUMERIC(38, 2)) AS total_revenue
    FROM campaign_day_totals AS d
    WHERE d.tenant_id = :tenant_id AND d.campaign_id >= :first AND d.campaign_id <= :last
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
    r.campaign_id,
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
ORDER BY r.campaign_id, r.metric_date
