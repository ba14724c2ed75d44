-- Query 9 in PostgreSQL: each auction with its highest bid during the
-- auction, the earliest of equal ones.
SELECT id, itemname, description, initialbid, reserve, datetime, expires, seller, category, extra,
       auction, bidder, price, bid_datetime, bid_extra
FROM (
  SELECT A.*, B.auction, B.bidder, B.price, B.datetime AS bid_datetime, B.extra AS bid_extra,
         ROW_NUMBER() OVER (PARTITION BY A.id ORDER BY B.price DESC, B.datetime ASC) AS rownum
  FROM auction A JOIN bid B ON A.id = B.auction
  WHERE B.datetime BETWEEN A.datetime AND A.expires
) T
WHERE rownum <= 1;
