-- The rollup path: visit_rows from the partitions' rollups (and on the fly
-- for partitions without one), then visits = those rows, with the rows of a
-- visit that crosses midnight merged; narrowed by visit filters.
visit_rows AS NOT MATERIALIZED (
    {{visit_row_sources}}
),
visits AS (
    SELECT * FROM (
        {{visit_merge}}
    )
    WHERE true {{visit_conditions}}
)
