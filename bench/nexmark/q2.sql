-- Query 2: selection. Bids on a set of auctions.
INSERT INTO nexmark_q2 SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0;
