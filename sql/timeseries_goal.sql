-- mallard_timeseries(..., goal := ...): per bucket, its visitors, those who
-- converted in it (a goal event in the bucket), total conversions, the
-- conversion rate (in %) and revenue per currency; zeros for empty buckets.
WITH {{scope}}, {{visit_attributes}} {{ev}},
{{buckets}},
goal_rows AS (
    SELECT date_trunc('{{granularity}}', {{local:ts}}) AS bucket, visitor_id,
           coalesce({{goal_match}}, false) AS hit, revenue_amount, revenue_currency
    FROM ev
),
totals AS (
    {{goal_totals:bucket}}
),
money AS (
    {{revenue_of:goal_rows:bucket}}
)
SELECT b.bucket,
       coalesce(t.visitors, 0) AS visitors,
       coalesce(t.conversions, 0) AS conversions,
       coalesce(t.events, 0) AS events,
       100.0 * t.conversions::DOUBLE / nullif(t.visitors, 0) AS conversion_rate,
       coalesce(m.revenue, []) AS revenue
FROM buckets b
LEFT JOIN totals t USING (bucket)
LEFT JOIN money m USING (bucket)
ORDER BY b.bucket
