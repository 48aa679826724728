-- import: rows of another product's export (import_plausible.sql,
-- import_umami.sql) as lake events, one JSON object per row in the
-- collector's event format. Each row gets an import id (a digest of the
-- row, numbered among identical rows), so importing the same export again
-- adds nothing; a `source` property naming where it came from; a visitor id
-- from the peer's own visitor key; and a visit by our rule: a visitor's
-- events belong to one visit until 30 minutes pass without one.
-- $1: the source (plausible-import, umami-import), $2: the site, $3: the lake.
WITH raw AS (
    {{rows}}
),
known AS (
    SELECT props['import_id'] AS id
    FROM mallard_events(CAST($3 AS VARCHAR), site := CAST($2 AS VARCHAR))
    WHERE props['import_id'] IS NOT NULL
),
keyed AS (
    SELECT *,
           md5(concat_ws('|', CAST($1 AS VARCHAR), visitor_key, ts, name, pathname,
               row_number() OVER (PARTITION BY visitor_key, ts, name, pathname ORDER BY referrer, utm_source))) AS import_id,
           CAST('0x' || md5(CAST($1 AS VARCHAR) || ':' || visitor_key)[1:16] AS UBIGINT) AS visitor_id
    FROM raw
),
valid AS (
    SELECT * FROM keyed WHERE ts IS NOT NULL AND name IS NOT NULL AND visitor_key IS NOT NULL
),
fresh AS (
    SELECT * FROM valid WHERE import_id NOT IN (SELECT id FROM known)
),
starts AS (
    SELECT *,
           CASE WHEN lag(ts) OVER w IS NULL OR ts - lag(ts) OVER w > INTERVAL 30 MINUTE THEN 1 ELSE 0 END AS starts
    FROM fresh
    WINDOW w AS (PARTITION BY visitor_id ORDER BY ts, import_id)
),
visits AS (
    SELECT *, sum(starts) OVER (PARTITION BY visitor_id ORDER BY ts, import_id ROWS UNBOUNDED PRECEDING) AS visit_no
    FROM starts
)
SELECT 'counts' AS kind,
       to_json({'read': (SELECT count(*) FROM keyed),
                'invalid': (SELECT count(*) FROM keyed) - (SELECT count(*) FROM valid),
                'duplicate': (SELECT count(*) FROM valid) - (SELECT count(*) FROM fresh)})::VARCHAR AS body
UNION ALL
SELECT 'event',
       to_json({
           'site': CAST($2 AS VARCHAR),
           'ts': epoch_us(ts),
           'visitor_id': visitor_id,
           'visit_id': CAST('0x' || md5(visitor_id::VARCHAR || ':' || visit_no::VARCHAR)[1:16] AS UBIGINT),
           'name': name, 'hostname': hostname, 'pathname': pathname, 'referrer': referrer,
           'referrer_source': referrer_source, 'utm_source': utm_source, 'utm_medium': utm_medium,
           'utm_campaign': utm_campaign, 'utm_content': utm_content, 'utm_term': utm_term,
           'browser': browser, 'browser_version': browser_version, 'os': os, 'os_version': os_version,
           'device': device, 'country': country, 'region': region, 'city': city,
           'props': list_transform(map_entries(props), e -> [e.key, e.value])
                    || [['source', CAST($1 AS VARCHAR)], ['import_id', import_id]],
           'revenue_amount': CAST(revenue_amount * 10000 AS BIGINT),
           'revenue_currency': revenue_currency,
           'interactive': CASE WHEN name <> 'pageview' THEN true END
       })::VARCHAR
FROM visits
