-- visit_merge: one row per visit from `visit_rows` (rollup rows, one per
-- visit and UTC day): a visit within one day is its row; the rows of a visit
-- that crosses midnight (`partial`) are merged, attributes from the first.
SELECT visit_id, visitor_id, first_ts, last_ts, events, pageviews, interactions,
       entry_page, exit_page, source, referrer, utm_source, utm_medium, utm_campaign,
       utm_content, utm_term, device, browser, browser_version, os, os_version,
       country, region, city
FROM visit_rows
WHERE NOT partial
UNION ALL
SELECT visit_id, any_value(visitor_id), min(first_ts), max(last_ts), sum(events), sum(pageviews),
       sum(interactions), arg_min_null(entry_page, entry_ts), arg_max_null(exit_page, exit_ts),
       arg_min_null(source, first_ts), arg_min_null(referrer, first_ts),
       arg_min_null(utm_source, first_ts), arg_min_null(utm_medium, first_ts),
       arg_min_null(utm_campaign, first_ts), arg_min_null(utm_content, first_ts),
       arg_min_null(utm_term, first_ts), arg_min_null(device, first_ts), arg_min_null(browser, first_ts),
       arg_min_null(browser_version, first_ts), arg_min_null(os, first_ts),
       arg_min_null(os_version, first_ts), arg_min_null(country, first_ts),
       arg_min_null(region, first_ts), arg_min_null(city, first_ts)
FROM visit_rows
WHERE partial
GROUP BY visit_id
