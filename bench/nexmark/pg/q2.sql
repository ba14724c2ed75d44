-- Query 2 in PostgreSQL: selection.
SELECT auction, price FROM bid WHERE auction % 123 = 0;
