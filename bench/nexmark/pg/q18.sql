-- Query 18 in PostgreSQL: the last bid of each bidder on each auction.
SELECT auction, bidder, price, channel, url, datetime, extra
FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY bidder, auction ORDER BY datetime DESC) AS rank_number
  FROM bid
) T
WHERE rank_number <= 1;
