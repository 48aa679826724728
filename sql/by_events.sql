-- by_events: per bucket, the events' visitors, pageviews and events.
by_events AS (
    SELECT date_trunc('{{granularity}}', {{local:ts}}) AS bucket,
           mallard_uniq_exact(visitor_id) AS visitors,
           count(*) FILTER (WHERE name = 'pageview') AS pageviews,
           count(*) AS events
    FROM ev
    GROUP BY 1
)
