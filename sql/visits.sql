-- visits: one row per visit among the query's events, with the visit's
-- attributes (from visit_attributes) when the report needs them.
visits AS (
    SELECT c.*{{attribute_columns}}
    FROM (
        SELECT visit_id,
               any_value(visitor_id) AS visitor_id,
               min(ts) AS first_ts,
               max(ts) AS last_ts,
               count(*) AS events,
               count(*) FILTER (WHERE name = 'pageview') AS pageviews,
               count(*) FILTER (WHERE name <> 'pageview' AND interactive IS NOT false) AS interactions
        FROM ev
        GROUP BY visit_id
    ) c {{attribute_join}}
)
