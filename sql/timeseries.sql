-- mallard_timeseries: one row per bucket of the range (local time when a
-- timezone is given), zeros for empty buckets. An event counts in the bucket
-- of its time; a visit (visits, bounce rate, duration) in the bucket of its
-- first event.
WITH {{visits_ctes}},
{{buckets}},
{{by_events}},
by_visits AS (
    SELECT date_trunc('{{granularity}}', {{local:first_ts}}) AS bucket,
           count(*) AS visits,
           100.0 * (count(*) FILTER (WHERE pageviews = 1 AND interactions = 0))::DOUBLE / count(*) AS bounce_rate,
           avg(date_diff('microsecond', first_ts, last_ts) / 1e6) AS visit_duration
    FROM visits
    GROUP BY 1
)
SELECT b.bucket,
       coalesce(e.visitors, 0) AS visitors,
       coalesce(v.visits, 0) AS visits,
       coalesce(e.pageviews, 0) AS pageviews,
       coalesce(e.events, 0) AS events,
       v.bounce_rate,
       v.visit_duration
FROM buckets b
LEFT JOIN by_events e USING (bucket)
LEFT JOIN by_visits v USING (bucket)
ORDER BY b.bucket
