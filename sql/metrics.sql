-- mallard_metrics: one row of the headline numbers.
-- bounce: a visit with exactly one pageview and no interactive custom event.
WITH {{visits_ctes}}
SELECT mallard_uniq_exact(visitor_id) AS visitors,
       count(*) AS visits,
       coalesce(sum(pageviews), 0)::BIGINT AS pageviews,
       coalesce(sum(events), 0)::BIGINT AS events,
       sum(pageviews)::DOUBLE / nullif(count(*), 0) AS views_per_visit,
       100.0 * (count(*) FILTER (WHERE pageviews = 1 AND interactions = 0))::DOUBLE / nullif(count(*), 0) AS bounce_rate,
       avg(date_diff('microsecond', first_ts, last_ts) / 1e6) AS visit_duration
FROM visits
