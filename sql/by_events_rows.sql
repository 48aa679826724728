-- by_events on the rollup path: a visit row holds one visit's events of one
-- UTC day, so day (and week, month) buckets are sums over rows.
by_events AS (
    SELECT date_trunc('{{granularity}}', first_ts) AS bucket,
           mallard_uniq_exact(visitor_id) AS visitors,
           sum(pageviews)::BIGINT AS pageviews,
           sum(events)::BIGINT AS events
    FROM visit_rows
    WHERE true {{row_filter}}
    GROUP BY 1
)
