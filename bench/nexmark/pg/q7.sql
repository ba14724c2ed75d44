-- Query 7 in PostgreSQL: the highest bids of each TUMBLE 10 s window
-- (aligned to the epoch), joined back with the bids.
SELECT B.auction, B.price, B.bidder, B.datetime, B.extra
FROM bid B
JOIN (
  SELECT MAX(price) AS maxprice,
         date_bin('10 seconds', datetime, TIMESTAMP '1970-01-01') + INTERVAL '10 seconds' AS datetime
  FROM bid
  GROUP BY 2
) B1 ON B.price = B1.maxprice
WHERE B.datetime BETWEEN B1.datetime - INTERVAL '10 seconds' AND B1.datetime;
