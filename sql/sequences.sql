-- mallard_sequences: how many of the range's visitors performed the steps
-- in the pattern's order. mallard_walk_sequences matches each event against
-- the steps, walks them visitor by visitor (no hash table) and runs
-- mallard_sequence_match's matcher on each: [matching visitors, all visitors].
WITH {{scope}}, {{visit_attributes}} {{ev}},
walked AS (
    SELECT mallard_walk_sequences({{pattern}}, {{steps}}, file, file_row, visitor_id, ts, {{step_codes}}) AS counts
    FROM ev
)
SELECT counts[1] AS matching_visitors,
       counts[2] AS total_visitors,
       100.0 * counts[1] / nullif(counts[2], 0) AS conversion_rate
FROM walked
