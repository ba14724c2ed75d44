-- Query 0: pass-through. Measures the cost of reading and writing bids.
INSERT INTO nexmark_q0 SELECT auction, bidder, price, dateTime, extra FROM bid;
