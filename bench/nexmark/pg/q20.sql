-- Query 20 in PostgreSQL: bids joined with their auction, category 10 only.
SELECT B.auction, B.bidder, B.price, B.channel, B.url, B.datetime, B.extra,
       A.itemname, A.description, A.initialbid, A.reserve, A.datetime, A.expires, A.seller, A.category, A.extra
FROM bid AS B JOIN auction AS A ON B.auction = A.id
WHERE A.category = 10;
