-- The rejected alternative for visits on a shared lake: a session store in
-- PostgreSQL, asked once per event. It extends the visitor's visit if its
-- last event is under 30 minutes old, else starts a new one (pgbench script;
-- :visitor is random, :now counts up in microseconds).
\set visitor random(1, 100000)
\set now :client_id * 1000000000 + random(1, 1000000000)
INSERT INTO mallard_visits (visitor, visit, last_ts) VALUES (:visitor, :now, :now)
ON CONFLICT (visitor) DO UPDATE
   SET visit = CASE WHEN mallard_visits.last_ts < excluded.last_ts - 1800000000
                    THEN excluded.visit ELSE mallard_visits.visit END,
       last_ts = greatest(mallard_visits.last_ts, excluded.last_ts)
RETURNING visit;
