-- Query 0 in PostgreSQL: pass-through.
SELECT auction, bidder, price, datetime, extra FROM bid;
