-- mallard_sessions: one row per visit, most recent first.
WITH {{visits_ctes}}
SELECT visitor_id, visit_id,
       first_ts AS visit_start, last_ts AS visit_end,
       date_diff('microsecond', first_ts, last_ts) / 1e6 AS duration,
       pageviews, events,
       entry_page, exit_page, source, referrer,
       utm_source, utm_medium, utm_campaign, utm_content, utm_term,
       device, browser, browser_version, os, os_version,
       country, region, city
FROM visits
ORDER BY first_ts DESC, visit_id
LIMIT CAST($top AS BIGINT)
