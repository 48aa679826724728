-- mallard_sessions: one row per visit, most recent first.
WITH {{scope}}, {{visit_attributes}} {{ev}}, {{visits}}
SELECT v.visitor_id, v.visit_id,
       v.first_ts AS visit_start, v.last_ts AS visit_end,
       date_diff('microsecond', v.first_ts, v.last_ts) / 1e6 AS duration,
       v.pageviews, v.events,
       a.entry_page, a.exit_page, a.source, a.referrer,
       a.utm_source, a.utm_medium, a.utm_campaign, a.utm_content, a.utm_term,
       a.device, a.browser, a.browser_version, a.os, a.os_version,
       a.country, a.region, a.city
FROM visits v
JOIN visit_attributes a USING (visit_id)
ORDER BY v.first_ts DESC, v.visit_id
LIMIT CAST($top AS BIGINT)
