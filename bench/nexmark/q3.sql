-- Query 3: local item suggestion. People in Oregon, Idaho or California
-- selling items in category 10 (a regular, unbounded join).
INSERT INTO nexmark_q3
SELECT P.name, P.city, P.state, A.id
FROM auction AS A INNER JOIN person AS P ON A.seller = P.id
WHERE A.category = 10 AND (P.state = 'OR' OR P.state = 'ID' OR P.state = 'CA');
