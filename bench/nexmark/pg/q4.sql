-- Query 4 in PostgreSQL: average winning price per category. The sink
-- column is BIGINT: the average is stored rounded.
SELECT Q.category, CAST(AVG(Q.final) AS bigint)
FROM (
  SELECT MAX(B.price) AS final, A.category
  FROM auction A JOIN bid B ON A.id = B.auction
  WHERE B.datetime BETWEEN A.datetime AND A.expires
  GROUP BY A.id, A.category
) Q
GROUP BY Q.category;
