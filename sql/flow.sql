-- mallard_flow: the most common paths after (or before) a page, as edges
-- between consecutive page views of a visit, counted in visitors.
-- mallard_walk_flow walks the page views visitor by visitor (no hash table)
-- and follows each visit from its first view of the page (as
-- mallard_sequence_next_node's 'first_match'): step k links the page k-1
-- views away from it to the page k views away (backward: from the page k
-- views before to the one k-1 before), so every edge points the way
-- visitors went.
WITH {{scope}}, {{visit_attributes}} {{ev}},
walked AS (
    SELECT unnest(mallard_walk_flow({{direction}}, {{depth}}, file, file_row, visitor_id, ts, {{anchor}}, visit_id, pathname)) AS e
    FROM ev
    WHERE name = 'pageview'
)
SELECT e.step, e.from_page, e.to_page, e.visitors
FROM walked
ORDER BY e.step, e.visitors DESC, e.from_page, e.to_page
