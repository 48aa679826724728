-- ev: the events of the query — the scope minus engagement rows, narrowed by
-- event filters (matching events) and visit filters (whole visits).
ev AS (
    SELECT *
    FROM scope
    WHERE name <> 'engagement' {{event_filters}} {{visit_filter}}
)
