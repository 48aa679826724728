-- mallard_breakdown for visit dimensions: visits grouped by the attribute.
WITH {{visits_ctes}}
SELECT coalesce({{attribute}}, '(none)') AS value,
       mallard_uniq_exact(visitor_id) AS visitors,
       count(*) AS visits,
       sum(pageviews)::BIGINT AS pageviews,
       100.0 * (count(*) FILTER (WHERE pageviews = 1 AND interactions = 0))::DOUBLE / count(*) AS bounce_rate,
       avg(date_diff('microsecond', first_ts, last_ts) / 1e6) AS visit_duration
FROM visits
GROUP BY 1
ORDER BY visitors DESC, value
LIMIT CAST($top AS BIGINT)
