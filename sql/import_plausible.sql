-- import_plausible: Plausible CE's ClickHouse table events_v2 (exported as
-- CSV with names, or Parquet; every column read as text) as import rows.
-- Mapping (events_v2 -> lake v1): timestamp -> ts (UTC), user_id -> the
-- visitor key, name, hostname, pathname, referrer, referrer_source,
-- utm_source/medium/campaign/content/term, browser, browser_version,
-- operating_system -> os, operating_system_version -> os_version,
-- screen_size -> device, country_code -> country, subdivision1_code ->
-- region, meta.key/meta.value -> props, revenue_reporting_amount/currency ->
-- revenue, city_geoname_id -> city as 'geonames:<id>', which the import
-- names from the City database (MALLARD_GEOIP_DB) or leaves out.
-- session_id is not used: visits are recomputed by the 30-minute rule.
SELECT try_cast("timestamp" AS TIMESTAMP) AS ts,
       "user_id" AS visitor_key,
       nullif("name", '') AS name,
       nullif("hostname", '') AS hostname,
       nullif("pathname", '') AS pathname,
       nullif("referrer", '') AS referrer,
       nullif("referrer_source", '') AS referrer_source,
       nullif("utm_source", '') AS utm_source,
       nullif("utm_medium", '') AS utm_medium,
       nullif("utm_campaign", '') AS utm_campaign,
       nullif("utm_content", '') AS utm_content,
       nullif("utm_term", '') AS utm_term,
       nullif("browser", '') AS browser,
       nullif("browser_version", '') AS browser_version,
       nullif("operating_system", '') AS os,
       nullif("operating_system_version", '') AS os_version,
       nullif("screen_size", '') AS device,
       nullif(trim("country_code", chr(0)), '') AS country,
       nullif("subdivision1_code", '') AS region,
       CASE WHEN try_cast("city_geoname_id" AS UINTEGER) > 0
            THEN 'geonames:' || try_cast("city_geoname_id" AS UINTEGER) END AS city,
       -- ClickHouse writes arrays as ['a','b']; Parquet's lists arrive as JSON text.
       map_from_entries(list_zip(
           coalesce(try_cast(replace("meta.key", '''', '"') AS JSON)::VARCHAR[], []),
           coalesce(try_cast(replace("meta.value", '''', '"') AS JSON)::VARCHAR[], [])
       )) AS props,
       try_cast(nullif("revenue_reporting_amount", '\N') AS DECIMAL(18, 4)) AS revenue_amount,
       nullif(trim("revenue_reporting_currency", chr(0)), '') AS revenue_currency
FROM {{source}}
