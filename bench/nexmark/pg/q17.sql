-- Query 17 in PostgreSQL: bids and prices per auction and day; the sink
-- stores the average as DECIMAL(18, 4).
SELECT
  auction,
  to_char(datetime, 'YYYY-MM-DD'),
  COUNT(*),
  COUNT(*) FILTER (WHERE price < 10000),
  COUNT(*) FILTER (WHERE price >= 10000 AND price < 1000000),
  COUNT(*) FILTER (WHERE price >= 1000000),
  MIN(price),
  MAX(price),
  CAST(AVG(price) AS numeric(18, 4)),
  SUM(price)
FROM bid
GROUP BY 1, 2;
