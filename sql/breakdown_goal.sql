-- mallard_breakdown(..., goal := ...): per value, its visitors, those of them
-- who converted (a goal event with that value), total conversions, the
-- conversion rate (converting / all visitors of the value, in %) and
-- revenue per currency. A page's value is the pathname of the event; a visit
-- dimension's, the value of the event's visit.
WITH {{scope}}, {{visit_attributes}} {{ev}},
goal_rows AS (
    SELECT coalesce({{value}}, '(none)') AS value, visitor_id, coalesce({{goal_match}}, false) AS hit,
           revenue_amount, revenue_currency
    FROM ev {{attribute_join}}
),
totals AS (
    {{goal_totals:value}}
),
money AS (
    {{revenue_of:goal_rows:value}}
)
SELECT t.value, t.visitors, t.conversions, t.events,
       100.0 * t.conversions::DOUBLE / t.visitors AS conversion_rate,
       coalesce(m.revenue, []) AS revenue
FROM totals t
LEFT JOIN money m USING (value)
ORDER BY t.conversions DESC, t.visitors DESC, t.value
LIMIT CAST($top AS BIGINT)
