-- mallard_flow: the most common paths after (or before) a page, as edges
-- between consecutive pages of a visit (mallard_sequence_next_node from the
-- visit's first view of the page), counted in visitors. Step k links the
-- page k-1 steps away from the anchor to the page k steps away (backward:
-- from the page k steps before to the one k-1 steps before), so every edge
-- points the way visitors went. Only visits that view the page are
-- aggregated (most visits never do), once (MATERIALIZED: every step reads it).
WITH {{scope}}, {{visit_attributes}} {{ev}},
paths AS MATERIALIZED (
    SELECT any_value(visitor_id) AS visitor_id,
           min({'ts': ts, 'page': pathname}) FILTER (WHERE {{anchor}}).page AS p0,
           {{next_pages}}
    FROM ev
    WHERE name = 'pageview' AND visit_id IN (SELECT visit_id FROM ev WHERE {{anchor}})
    GROUP BY visit_id
),
edges AS (
    {{edges}}
)
SELECT CAST(step AS INTEGER) AS step, from_page, to_page, mallard_uniq_exact(visitor_id) AS visitors
FROM edges
WHERE from_page IS NOT NULL AND to_page IS NOT NULL
GROUP BY step, from_page, to_page
ORDER BY step, visitors DESC, from_page, to_page
