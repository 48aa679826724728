-- One row per visit and UTC day: what a compacted partition's `.visits`
-- rollup file holds, and what queries compute on the fly for partitions
-- without one. Counts are over the day's events of the visit; attributes
-- are those of its first event, entry/exit pages of its first/last
-- pageview (with their times, to merge days). `partial`: the visit may go on
-- across midnight (it has an event within 30 minutes of it), so the rows of
-- its days must be merged.
SELECT visit_id,
       any_value(visitor_id) AS visitor_id,
       min(ts) AS first_ts,
       max(ts) AS last_ts,
       count(*) AS events,
       count(*) FILTER (WHERE name = 'pageview') AS pageviews,
       count(*) FILTER (WHERE name <> 'pageview' AND interactive IS NOT false) AS interactions,
       min(ts) <= date_trunc('day', min(ts)) + INTERVAL 30 MINUTE
           OR max(ts) >= date_trunc('day', max(ts)) + INTERVAL 1410 MINUTE AS partial,
       arg_min_null(pathname, ts) FILTER (WHERE name = 'pageview') AS entry_page,
       min(ts) FILTER (WHERE name = 'pageview') AS entry_ts,
       arg_max_null(pathname, ts) FILTER (WHERE name = 'pageview') AS exit_page,
       max(ts) FILTER (WHERE name = 'pageview') AS exit_ts,
       arg_min_null(coalesce(utm_source, referrer_source), ts) AS source,
       arg_min_null(referrer, ts) AS referrer,
       arg_min_null(utm_source, ts) AS utm_source,
       arg_min_null(utm_medium, ts) AS utm_medium,
       arg_min_null(utm_campaign, ts) AS utm_campaign,
       arg_min_null(utm_content, ts) AS utm_content,
       arg_min_null(utm_term, ts) AS utm_term,
       arg_min_null(device, ts) AS device,
       arg_min_null(browser, ts) AS browser,
       arg_min_null(browser_version, ts) AS browser_version,
       arg_min_null(os, ts) AS os,
       arg_min_null(os_version, ts) AS os_version,
       arg_min_null(country, ts) AS country,
       arg_min_null(region, ts) AS region,
       arg_min_null(city, ts) AS city
FROM {{events}}
WHERE name <> 'engagement'
GROUP BY visit_id, CAST(ts AS DATE)
