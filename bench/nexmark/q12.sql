-- Query 12: processing-time windows. Bids per bidder in each 10 s
-- processing-time window.
CREATE VIEW bid_proctime AS SELECT auction, bidder, price, PROCTIME() AS p_time FROM bid;
INSERT INTO nexmark_q12
SELECT bidder, COUNT(*) AS bid_count, window_start, window_end
FROM TABLE(TUMBLE(TABLE bid_proctime, DESCRIPTOR(p_time), INTERVAL '10' SECOND))
GROUP BY bidder, window_start, window_end;
