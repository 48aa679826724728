-- import_umami: Umami's PostgreSQL tables website_event and session
-- (exported as CSV with a header, e.g. \copy ... TO 'x.csv' CSV HEADER) as
-- import rows. Mapping (Umami -> lake v1): website_event.created_at -> ts
-- (its UTC offset applied), session_id -> the visitor key, event_type 1 ->
-- 'pageview' else event_name -> name, hostname, url_path -> pathname,
-- referrer_domain + referrer_path -> referrer (referrer_domain ->
-- referrer_source), utm_* (newer Umami versions; empty otherwise); from
-- session: browser, os, device (capitalised: Desktop, Mobile, Tablet,
-- Laptop), country, region, city. visit_id is not used: visits are
-- recomputed by the 30-minute rule. event_data (custom properties) is not
-- read.
SELECT CAST(substr(e.created_at, 1, 19) AS TIMESTAMP)
         - to_hours(coalesce(try_cast(regexp_extract(e.created_at, '([+-][0-9]{2})(:?[0-9]{2})?$', 1) AS INTEGER), 0))
         AS ts,
       e.session_id AS visitor_key,
       CASE WHEN e.event_type = '1' THEN 'pageview' ELSE nullif(e.event_name, '') END AS name,
       nullif(e.hostname, '') AS hostname,
       nullif(e.url_path, '') AS pathname,
       nullif(coalesce(e.referrer_domain, '') || coalesce(e.referrer_path, ''), '') AS referrer,
       nullif(e.referrer_domain, '') AS referrer_source,
       nullif(e.utm_source, '') AS utm_source,
       nullif(e.utm_medium, '') AS utm_medium,
       nullif(e.utm_campaign, '') AS utm_campaign,
       nullif(e.utm_content, '') AS utm_content,
       nullif(e.utm_term, '') AS utm_term,
       nullif(s.browser, '') AS browser,
       CAST(NULL AS VARCHAR) AS browser_version,
       nullif(s.os, '') AS os,
       CAST(NULL AS VARCHAR) AS os_version,
       CASE WHEN coalesce(s.device, '') = '' THEN NULL ELSE upper(s.device[1]) || s.device[2:] END AS device,
       nullif(s.country, '') AS country,
       nullif(s.region, '') AS region,
       nullif(s.city, '') AS city,
       MAP {}::MAP(VARCHAR, VARCHAR) AS props,
       CAST(NULL AS DECIMAL(18, 4)) AS revenue_amount,
       CAST(NULL AS VARCHAR) AS revenue_currency
FROM {{events}} e
LEFT JOIN {{sessions}} s USING (session_id)
