-- Query 22 in PostgreSQL: the first three directories of each url.
-- SPLIT_INDEX(s, '/', i) is the i-th (from 0) field of s split at every
-- '/', empty fields kept, NULL when there are not that many.
SELECT auction, bidder, price, channel,
       (string_to_array(url, '/'))[4],
       (string_to_array(url, '/'))[5],
       (string_to_array(url, '/'))[6]
FROM bid;
