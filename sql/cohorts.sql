-- mallard_retention (the report): visitors by cohort — the period of their
-- first event in the range — and how many of them were active again n
-- periods later. mallard_walk_retention walks the events visitor by visitor
-- (no hash table), numbers each one's (local) period from {{origin}}, and
-- counts per cohort its size and its visitors active n periods later.
-- Periods that have not begun by the end of the range are NULL.
WITH {{scope}}, {{visit_attributes}} {{ev}},
walked AS (
    SELECT mallard_walk_retention('{{period}}', {{periods}}, file, file_row, visitor_id, ts, {{local:ts}}) AS cohorts
    FROM ev
),
returns AS (
    SELECT date_trunc('{{period}}', {{origin}} + to_{{period}}s(c.cohort)) AS cohort,
           c.cohort_size AS size, c.period_number AS k, c.visitors AS n
    FROM (SELECT unnest(cohorts) AS c FROM walked)
)
SELECT CAST(cohort AS DATE) AS cohort,
       size AS cohort_size,
       k AS period_number,
       CASE WHEN cohort + to_{{period}}s(k) < {{end}} THEN n END AS visitors,
       CASE WHEN cohort + to_{{period}}s(k) < {{end}} THEN 100.0 * n / size END AS rate
FROM returns
ORDER BY cohort, k
