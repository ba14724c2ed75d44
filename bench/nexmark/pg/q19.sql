-- Query 19 in PostgreSQL: the 10 highest bids of each auction. Bids of
-- equal price may take either rank, so the test compares (auction, price,
-- rank_number) only.
SELECT * FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC) AS rank_number
  FROM bid
) T
WHERE rank_number <= 10;
