-- visit_attributes (see visit_attributes.sql) from the partitions' rollups,
-- for reports that read events but whose range is whole UTC days: there a
-- visit's rollup rows hold all its events in the range, so its attributes
-- are the same, and one row per visit is read instead of every event.
visit_rows AS NOT MATERIALIZED (
    {{visit_row_sources}}
),
visit_attributes AS (
    SELECT visit_id, entry_page, exit_page, source, referrer, utm_source, utm_medium,
           utm_campaign, utm_content, utm_term, device, browser, browser_version, os,
           os_version, country, region, city
    FROM (
        {{visit_merge}}
    )
)
