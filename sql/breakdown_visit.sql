-- mallard_breakdown for visit dimensions: visits grouped by the attribute.
WITH {{scope}}, {{visit_attributes}} {{ev}}, {{visits}}
SELECT coalesce(a.{{attribute}}, '(none)') AS value,
       count(DISTINCT v.visitor_id) AS visitors,
       count(*) AS visits,
       sum(v.pageviews)::BIGINT AS pageviews,
       100.0 * (count(*) FILTER (WHERE v.pageviews = 1 AND v.interactions = 0))::DOUBLE / count(*) AS bounce_rate,
       avg(date_diff('microsecond', v.first_ts, v.last_ts) / 1e6) AS visit_duration
FROM visits v
JOIN visit_attributes a USING (visit_id)
GROUP BY 1
ORDER BY visitors DESC, value
LIMIT CAST($top AS BIGINT)
