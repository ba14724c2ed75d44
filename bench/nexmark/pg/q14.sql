-- Query 14 in PostgreSQL: converted prices in a range, the time of day and
-- the number of 'c' in extra.
SELECT auction, bidder, CAST(0.908 * price AS numeric(18, 3)),
       CASE
         WHEN EXTRACT(HOUR FROM datetime) >= 8 AND EXTRACT(HOUR FROM datetime) <= 18 THEN 'dayTime'
         WHEN EXTRACT(HOUR FROM datetime) <= 6 OR EXTRACT(HOUR FROM datetime) >= 20 THEN 'nightTime'
         ELSE 'otherTime'
       END,
       datetime, extra,
       char_length(extra) - char_length(replace(extra, 'c', ''))
FROM bid
WHERE 0.908 * price > 1000000 AND 0.908 * price < 50000000;
