-- mallard_funnel: how many visitors reached each step, in order, within the
-- window. mallard_walk_funnel matches each event against the steps, walks
-- them visitor by visitor (the lake's files are sorted by visitor and time:
-- no hash table) and counts visitors by the deepest step reached, as
-- mallard_window_funnel computes it. Counts are cumulative: a visitor who reached step 3 counts
-- in steps 1 to 3. Rates are percentages: from step 1, and from the step
-- before.
WITH {{scope}}, {{visit_attributes}} {{ev}},
walked AS (
    SELECT mallard_walk_funnel({{within}}, {{mode}}, {{steps}}, file, file_row, visitor_id, ts, {{step_codes}}) AS levels
    FROM ev
),
reached AS (
    SELECT unnest(range(len(levels))) AS level, unnest(levels) AS n FROM walked
),
steps AS (
    SELECT CAST(i AS INTEGER) AS step, {{steps}}[i] AS name
    FROM range(1, {{step_count}} + 1) r(i)
),
counts AS (
    SELECT s.step, s.name, CAST(coalesce(sum(r.n), 0) AS BIGINT) AS visitors
    FROM steps s LEFT JOIN reached r ON r.level >= s.step
    GROUP BY s.step, s.name
)
SELECT step, name, visitors,
       100.0 * visitors / nullif(first_value(visitors) OVER w, 0) AS conversion_rate,
       100.0 * visitors / nullif(coalesce(lag(visitors) OVER w, visitors), 0) AS step_conversion_rate,
       CAST(coalesce(lag(visitors) OVER w - visitors, 0) AS BIGINT) AS dropoff
FROM counts
WINDOW w AS (ORDER BY step)
ORDER BY step
