-- mallard_breakdown for event dimensions other than the page
-- (event:name, event:hostname, event:props:<key>).
WITH {{scope}}, {{visit_attributes}} {{ev}}
SELECT coalesce({{dimension}}, '(none)') AS value,
       mallard_uniq_exact(visitor_id) AS visitors,
       count(*) AS events,
       count(*) FILTER (WHERE name = 'pageview') AS pageviews
FROM ev
GROUP BY 1
ORDER BY visitors DESC, value
LIMIT CAST($top AS BIGINT)
