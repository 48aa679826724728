-- visit_counts: what a visit's events count. Shared by visits (queries)
-- and visit_rows (rollups), so both count the same.
any_value(visitor_id) AS visitor_id,
       min(ts) AS first_ts,
       max(ts) AS last_ts,
       count(*) AS events,
       count(*) FILTER (WHERE name = 'pageview') AS pageviews,
       count(*) FILTER (WHERE name <> 'pageview' AND interactive IS NOT false) AS interactions
