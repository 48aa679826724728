-- mallard_flow: the most common paths after (or before) a page, as edges
-- between consecutive page views of a visit, counted in visitors.
-- mallard_walk_flow walks the page views visitor by visitor (no hash table)
-- and follows each visit from its first view of the page (as
-- mallard_sequence_next_node's 'first_match'): step k links the page k-1
-- views away from it to the page k views away (backward: from the page k
-- views before to the one k-1 before), so every edge points the way
-- visitors went. Only visits that view the page are walked (most visits
-- never do); that list comes from a second, narrow scan.
WITH {{scope}}, {{visit_attributes}} {{ev}},
walked AS (
    SELECT mallard_walk_flow({{direction}}, {{depth}}, {{page}}, file, file_row, visitor_id, ts, visit_id, pathname, {{step_codes}}) AS edges
    FROM ev
    WHERE name = 'pageview'
      AND visit_id IN (SELECT visit_id FROM {{source}} WHERE {{page_views}})
)
SELECT e.step, e.from_page, e.to_page, e.visitors
FROM (SELECT unnest(edges) AS e FROM walked)
ORDER BY e.step, e.visitors DESC, e.from_page, e.to_page
