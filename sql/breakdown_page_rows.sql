-- mallard_breakdown(..., 'event:page') on the rollup path (no filters):
-- the same numbers as breakdown_page.sql, from page rows.
WITH {{scope}},
page_rows AS NOT MATERIALIZED (
    {{page_row_sources}}
),
pages AS (
    SELECT coalesce(pathname, '(none)') AS value,
           mallard_uniq_exact(visitor_id) FILTER (WHERE pageviews > 0) AS visitors,
           sum(pageviews)::BIGINT AS pageviews
    FROM page_rows
    GROUP BY 1
    HAVING sum(pageviews) > 0
    ORDER BY visitors DESC, value
    LIMIT CAST($top AS BIGINT)
),
engagement AS (
    SELECT coalesce(pathname, '(none)') AS value, visitor_id,
           sum(engaged_ms) AS engaged_ms, max(scroll_depth) AS scroll_depth
    FROM page_rows
    WHERE (engaged_ms IS NOT NULL OR scroll_depth IS NOT NULL)
      AND coalesce(pathname, '(none)') IN (SELECT value FROM pages)
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
