-- Query 1: currency conversion. Bid prices from dollars to euros.
INSERT INTO nexmark_q1
SELECT auction, bidder, 0.908 * price AS price, dateTime, extra FROM bid;
