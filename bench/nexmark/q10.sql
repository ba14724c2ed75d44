-- Query 10: log to the file system. Every bid with its day and minute, as
-- CSV files (nexmark-flink partitions them by dt and hm; Sluice's
-- filesystem sink writes one directory).
INSERT INTO nexmark_q10
SELECT auction, bidder, price, dateTime, extra,
       DATE_FORMAT(dateTime, 'yyyy-MM-dd'), DATE_FORMAT(dateTime, 'HH:mm')
FROM bid;
