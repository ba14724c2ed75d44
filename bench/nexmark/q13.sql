-- Query 13: bounded side input join. Bids joined with a static table by
-- auction mod 10000 (a processing-time temporal join in nexmark-flink).
-- side_input is declared in ddl.sql; the bench writes its file.
INSERT INTO nexmark_q13
SELECT B.auction, B.bidder, B.price, B.dateTime, S.`value`
FROM (SELECT *, PROCTIME() AS p_time FROM bid) B
JOIN side_input FOR SYSTEM_TIME AS OF B.p_time AS S
ON MOD(B.auction, 10000) = S.key;
