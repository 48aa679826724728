-- mallard_goals: per goal (in the order given), unique conversions (visitors
-- with a matching event), total conversions (matching events), the
-- conversion rate (converting visitors / all visitors of the range and
-- filters, in %), and revenue per currency (never added across currencies).
WITH {{scope}}, {{visit_attributes}} {{ev}},
hits AS (
    SELECT goal, visitor_id, revenue_amount, revenue_currency
    FROM (SELECT unnest([{{goal_matches}}]) AS goal, visitor_id, revenue_amount, revenue_currency FROM ev)
    WHERE goal IS NOT NULL
),
total AS (
    SELECT mallard_uniq_exact(visitor_id) AS visitors FROM ev
),
per_goal AS (
    SELECT goal, mallard_uniq_exact(visitor_id) AS visitors, count(*) AS events
    FROM hits
    GROUP BY goal
),
money AS (
    {{revenue_of:hits:goal}}
),
goals AS (
    SELECT unnest(l) AS name, generate_subscripts(l, 1) AS goal
    FROM (SELECT CAST($goals AS VARCHAR[]) AS l)
)
SELECT g.name AS goal,
       coalesce(p.visitors, 0)::BIGINT AS visitors,
       coalesce(p.events, 0)::BIGINT AS events,
       100.0 * coalesce(p.visitors, 0)::DOUBLE / nullif(t.visitors, 0) AS conversion_rate,
       coalesce(m.revenue, []) AS revenue
FROM goals g
CROSS JOIN total t
LEFT JOIN per_goal p USING (goal)
LEFT JOIN money m USING (goal)
ORDER BY g.goal
