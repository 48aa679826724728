-- mallard_realtime: visitors and pageviews of the last 5 minutes.
SELECT mallard_uniq_exact(visitor_id) AS visitors,
       count(*) FILTER (WHERE name = 'pageview') AS pageviews
FROM {{source}}
WHERE site = CAST($site AS VARCHAR) AND ts >= CAST($since AS TIMESTAMP) AND name <> 'engagement'
