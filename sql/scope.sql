-- scope: the site's rows whose time falls in the query's range (UTC bounds),
-- engagement rows included. Every report starts here.
scope AS (
    SELECT *
    FROM {{source}}
    WHERE {{site}} AND {{range}}
)
