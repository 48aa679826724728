-- buckets: every bucket of a time series' range (local time when a timezone
-- is given), so that empty buckets show as zeros.
buckets AS (
    SELECT unnest(generate_series(
        date_trunc('{{granularity}}', CAST($start_local AS TIMESTAMP)),
        date_trunc('{{granularity}}', CAST($end_local AS TIMESTAMP) - INTERVAL 1 MICROSECOND),
        INTERVAL 1 {{granularity}})) AS bucket
)
