-- mallard_sequences: how many of the range's visitors performed the steps
-- in the pattern's order (mallard_sequence_match over each visitor's events).
WITH {{scope}}, {{visit_attributes}} {{ev}},
matched AS (
    SELECT mallard_sequence_match({{pattern}}, ts, {{conditions}}) AS m
    FROM ev
    WHERE {{step_rows}}
    GROUP BY visitor_id
),
totals AS (
    SELECT (SELECT count(*) FILTER (WHERE m) FROM matched) AS matching,
           (SELECT mallard_uniq_exact(visitor_id) FROM ev) AS total
)
SELECT CAST(matching AS BIGINT) AS matching_visitors,
       CAST(total AS BIGINT) AS total_visitors,
       100.0 * matching / nullif(total, 0) AS conversion_rate
FROM totals
