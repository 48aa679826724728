-- visits: one row per visit among the query's events, with the visit's
-- attributes (from visit_attributes) when the report needs them.
visits AS (
    SELECT c.*{{attribute_columns}}
    FROM (
        SELECT visit_id,
               {{visit_counts}}
        FROM ev
        GROUP BY visit_id
    ) c {{attribute_join}}
)
