-- mallard_retention (the report): visitors by cohort — the period of their
-- first event in the range — and how many of them were active again n
-- periods later (mallard_retention over each visitor's active periods).
-- Periods that have not begun by the end of the range are NULL.
WITH {{scope}}, {{visit_attributes}} {{ev}},
active AS (
    SELECT DISTINCT visitor_id, date_trunc('{{period}}', {{local:ts}}) AS p FROM ev
),
cohorts AS (
    SELECT visitor_id, p, min(p) OVER (PARTITION BY visitor_id) AS cohort FROM active
),
returns AS (
    SELECT cohort, mallard_retention({{conditions}}) AS r
    FROM (SELECT visitor_id, cohort, date_diff('{{period}}', cohort, p) AS n FROM cohorts)
    GROUP BY visitor_id, cohort
)
SELECT CAST(cohort AS DATE) AS cohort,
       count(*) AS cohort_size,
       CAST(k AS INTEGER) AS period_number,
       CASE WHEN cohort + to_{{period}}s(k) < {{end}} THEN CAST(sum(CAST(r[k + 1] AS INTEGER)) AS BIGINT) END AS visitors,
       CASE WHEN cohort + to_{{period}}s(k) < {{end}} THEN 100.0 * sum(CAST(r[k + 1] AS INTEGER)) / count(*) END AS rate
FROM returns, range({{periods}}) t(k)
GROUP BY cohort, k
ORDER BY cohort, k
