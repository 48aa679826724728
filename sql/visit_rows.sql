-- One row per visit and UTC day: what a compacted partition's `.visits`
-- rollup file holds, and what queries compute on the fly for partitions
-- without one. Counts are over the day's events of the visit; attributes
-- are those of its first event, entry/exit pages of its first/last
-- pageview (with their times, to merge days). `partial`: the visit may go on
-- across midnight (it has an event within 30 minutes of it), so the rows of
-- its days must be merged.
SELECT visit_id,
       {{visit_counts}},
       min(ts) <= date_trunc('day', min(ts)) + INTERVAL 30 MINUTE
           OR max(ts) >= date_trunc('day', max(ts)) + INTERVAL 1410 MINUTE AS partial,
       arg_min_null(pathname, ts) FILTER (WHERE name = 'pageview') AS entry_page,
       min(ts) FILTER (WHERE name = 'pageview') AS entry_ts,
       arg_max_null(pathname, ts) FILTER (WHERE name = 'pageview') AS exit_page,
       max(ts) FILTER (WHERE name = 'pageview') AS exit_ts,
       {{visit_first}}
FROM {{events}}
WHERE name <> 'engagement'
GROUP BY visit_id, CAST(ts AS DATE)
