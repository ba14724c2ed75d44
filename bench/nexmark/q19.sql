-- Query 19: the 10 highest bids of each auction (Top-N).
INSERT INTO nexmark_q19
SELECT * FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC) AS rank_number
  FROM bid
) T
WHERE rank_number <= 10;
