-- mallard_breakdown(..., 'event:page'): pageviews per page, with time on page
-- (engaged seconds per pageview) and scroll depth (mean over visitors of
-- their deepest scroll on the page) from the engagement rows.
WITH {{scope}}, {{visit_attributes}} {{ev}},
pages AS (
    SELECT coalesce(pathname, '(none)') AS value,
           mallard_uniq_exact(visitor_id) AS visitors,
           count(*) AS pageviews
    FROM ev
    WHERE name = 'pageview'
    GROUP BY 1
),
engagement AS (
    SELECT coalesce(pathname, '(none)') AS value, visitor_id,
           sum(engaged_ms) AS engaged_ms, max(scroll_depth) AS scroll_depth
    FROM scope
    WHERE name = 'engagement' {{event_filters}} {{visit_filter}}
    GROUP BY 1, 2
),
page_engagement AS (
    SELECT value, sum(engaged_ms) / 1000.0 AS engaged_seconds, avg(scroll_depth) AS scroll_depth
    FROM engagement
    GROUP BY value
)
SELECT p.value, p.visitors, p.pageviews,
       pe.engaged_seconds::DOUBLE / p.pageviews AS time_on_page,
       pe.scroll_depth::DOUBLE AS scroll_depth
FROM pages p
LEFT JOIN page_engagement pe USING (value)
ORDER BY p.visitors DESC, p.value
LIMIT CAST($top AS BIGINT)
