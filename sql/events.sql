-- mallard_events: the raw rows (engagement rows included) with their date.
WITH {{scope}}, {{visit_attributes}}
ev AS (
    SELECT * FROM scope WHERE true {{event_filters}} {{visit_filter}}
)
SELECT {{lake_columns}}, CAST({{local:ts}} AS DATE) AS date
FROM ev
