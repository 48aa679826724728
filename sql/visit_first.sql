-- visit_first: a visit's attributes, those of its first event (NULLs
-- included, hence arg_min_null). Shared by visit_attributes (queries) and
-- visit_rows (rollups), so both say the same.
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
