-- Query 5 in PostgreSQL: hot items. HOP(2 s slide, 10 s size) windows,
-- aligned to the epoch: a bid at t is in the 5 windows starting at
-- date_bin('2 s', t) - k × 2 s, k = 0..4.
WITH hop AS (
  SELECT B.auction, W.ws AS starttime, W.ws + INTERVAL '10 seconds' AS endtime
  FROM bid B,
       LATERAL (SELECT date_bin('2 seconds', B.datetime, TIMESTAMP '1970-01-01') - k * INTERVAL '2 seconds' AS ws
                FROM generate_series(0, 4) AS k) W
),
auction_bids AS (
  SELECT auction, COUNT(*) AS num, starttime, endtime FROM hop GROUP BY auction, starttime, endtime
),
max_bids AS (
  SELECT MAX(num) AS maxn, starttime, endtime FROM auction_bids GROUP BY starttime, endtime
)
SELECT AB.auction, AB.num
FROM auction_bids AB JOIN max_bids MB
  ON AB.starttime = MB.starttime AND AB.endtime = MB.endtime AND AB.num >= MB.maxn;
