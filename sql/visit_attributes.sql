-- visit_attributes: one row per visit with what a visit dimension shows:
-- entry/exit page = pathname of its first/last pageview; everything else is
-- the value on its first event (NULLs included, hence arg_min_null). Computed
-- over the scope's events (engagement rows are not events).
visit_attributes AS (
    SELECT visit_id,
           arg_min_null(pathname, ts) FILTER (WHERE name = 'pageview') AS entry_page,
           arg_max_null(pathname, ts) FILTER (WHERE name = 'pageview') AS exit_page,
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
    FROM scope
    WHERE name <> 'engagement'
    GROUP BY visit_id
)
