-- One row per page, visitor and UTC day: pageviews, engaged time and the
-- deepest scroll — what a compacted partition's `.pages` rollup file holds,
-- and what queries compute on the fly for partitions without one.
SELECT pathname,
       visitor_id,
       count(*) FILTER (WHERE name = 'pageview') AS pageviews,
       sum(engaged_ms) AS engaged_ms,
       max(scroll_depth) AS scroll_depth
FROM {{events}}
WHERE name IN ('pageview', 'engagement')
GROUP BY pathname, visitor_id, CAST(ts AS DATE)
