-- goal_totals: per key of goal_rows (a breakdown value, a time bucket), its
-- visitors, those who converted (a goal event with that key) and the
-- conversions (goal events).
SELECT {{key}},
       mallard_uniq_exact(visitor_id) AS visitors,
       count(DISTINCT visitor_id) FILTER (WHERE hit) AS conversions,
       count(*) FILTER (WHERE hit) AS events
FROM goal_rows
GROUP BY {{key}}
