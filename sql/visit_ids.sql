-- Visit ids made right across collectors: the maintainer's pass over one
-- site's recent days of a shared lake, where every collector's events meet.
-- A visitor's events split into visits by the 30-minute rule
-- (core/src/session.rs: a gap of exactly 30 minutes continues a visit;
-- engagement rows never open or extend one, they join the visit they follow).
-- Each visit keeps the id its first event carries, so rows that are already
-- right are left alone. Returns the rows to change: (rid, visit_id).
-- Parameters: $1 site, $2 first date, $3 last date.
WITH lake_rows AS (
    SELECT rowid AS rid, visitor_id, ts, visit_id, name = 'engagement' AS engagement
    FROM {{events}}
    WHERE site = $1 AND date BETWEEN $2 AND $3
),
opened AS (
    SELECT rid, visitor_id, ts, visit_id,
           CASE WHEN ts - lag(ts) OVER w <= INTERVAL 30 MINUTE THEN 0 ELSE 1 END AS opens
    FROM lake_rows
    WHERE NOT engagement
    WINDOW w AS (PARTITION BY visitor_id ORDER BY ts, rid)
),
numbered AS (
    SELECT *, sum(opens) OVER (PARTITION BY visitor_id ORDER BY ts, rid ROWS UNBOUNDED PRECEDING) AS visit_number
    FROM opened
),
visits AS (
    SELECT rid, visitor_id, ts, visit_id,
           first_value(visit_id) OVER (PARTITION BY visitor_id, visit_number ORDER BY ts, rid) AS right_id
    FROM numbered
),
engaged AS (
    SELECT e.rid, e.visit_id, v.right_id
    FROM (SELECT * FROM lake_rows WHERE engagement) e
    ASOF JOIN visits v ON e.visitor_id = v.visitor_id AND e.ts >= v.ts
    WHERE e.ts - v.ts <= INTERVAL 30 MINUTE
)
SELECT rid, right_id AS visit_id FROM visits WHERE right_id <> visit_id
UNION ALL
SELECT rid, right_id FROM engaged WHERE right_id <> visit_id
