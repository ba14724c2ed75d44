-- Query 11 in PostgreSQL: SESSION windows of 10 s per bidder. As in Flink,
-- a bid joins the session when it comes at most 10 s after the previous
-- one (windows [t, t + 10 s) that touch merge); a session spans its first
-- bid to its last bid + 10 s.
WITH marked AS (
  SELECT bidder, datetime,
         CASE WHEN datetime - LAG(datetime) OVER w <= INTERVAL '10 seconds' THEN 0 ELSE 1 END AS starts
  FROM bid
  WINDOW w AS (PARTITION BY bidder ORDER BY datetime)
),
numbered AS (
  SELECT bidder, datetime,
         SUM(starts) OVER (PARTITION BY bidder ORDER BY datetime ROWS UNBOUNDED PRECEDING) AS session
  FROM marked
)
SELECT bidder, COUNT(*), MIN(datetime), MAX(datetime) + INTERVAL '10 seconds'
FROM numbered
GROUP BY bidder, session;
