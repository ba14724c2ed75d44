-- The generator alone: every event of every kind, all columns, into
-- blackholes. Its rate is the ceiling of every query.
EXECUTE STATEMENT SET BEGIN
INSERT INTO gen_person SELECT * FROM person;
INSERT INTO gen_auction SELECT * FROM auction;
INSERT INTO gen_bid SELECT * FROM bid;
END;
