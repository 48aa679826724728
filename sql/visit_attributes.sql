-- visit_attributes: one row per visit with what a visit dimension shows:
-- entry/exit page = pathname of its first/last pageview; everything else is
-- the value on its first event (NULLs included, hence arg_min_null). Computed
-- over the scope's events (engagement rows are not events).
visit_attributes AS (
    SELECT visit_id,
           arg_min_null(pathname, ts) FILTER (WHERE name = 'pageview') AS entry_page,
           arg_max_null(pathname, ts) FILTER (WHERE name = 'pageview') AS exit_page,
           {{visit_first}}
    FROM scope
    WHERE name <> 'engagement'
    GROUP BY visit_id
)
