-- Query 8 in PostgreSQL: people who opened an auction in the TUMBLE 10 s
-- window in which they registered.
WITH P AS (
  SELECT id, name, date_bin('10 seconds', datetime, TIMESTAMP '1970-01-01') AS starttime
  FROM person
  GROUP BY 1, 2, 3
),
A AS (
  SELECT seller, date_bin('10 seconds', datetime, TIMESTAMP '1970-01-01') AS starttime
  FROM auction
  GROUP BY 1, 2
)
SELECT P.id, P.name, P.starttime
FROM P JOIN A ON P.id = A.seller AND P.starttime = A.starttime;
