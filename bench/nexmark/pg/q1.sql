-- Query 1 in PostgreSQL: currency conversion, stored as DECIMAL(18, 3).
SELECT auction, bidder, CAST(0.908 * price AS numeric(18, 3)), datetime, extra FROM bid;
