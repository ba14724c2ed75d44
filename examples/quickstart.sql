-- Sluice quickstart: a self-contained pipeline, no external services.
--
--   sluice run -f examples/quickstart.sql
--
-- It generates 20 orders, keeps the large ones in a built-in table through
-- a streaming job, prints every order through a second job, and finally
-- queries the built-in table. State lives in ./sluice-data (--state-dir to
-- change it); delete that folder to start again from scratch.

-- A bounded source: datagen stops after 'number-of-rows' rows. id is a
-- sequence 1..20, amount a random decimal, customer a random 6-character
-- hex string.
CREATE TABLE IF NOT EXISTS orders (
  id       BIGINT,
  amount   DECIMAL(10, 2),
  customer VARCHAR(6)
) WITH (
  'connector' = 'datagen',
  'number-of-rows' = '20',
  'fields.id.kind' = 'sequence',
  'fields.id.start' = '1',
  'fields.id.end' = '20',
  'fields.amount.min' = '1.00',
  'fields.amount.max' = '500.00',
  'fields.customer.length' = '6'
);

-- A built-in table (no WITH clause): stored in the state dir, upserted on
-- its primary key.
CREATE TABLE IF NOT EXISTS big_orders (
  id       BIGINT,
  customer VARCHAR(6),
  amount   DECIMAL(10, 2),
  tax      DECIMAL(10, 2),
  size     VARCHAR(8),
  PRIMARY KEY (id) NOT ENFORCED
);

-- A sink that prints every row it receives, with its change op.
CREATE TABLE IF NOT EXISTS order_log (
  id       BIGINT,
  customer VARCHAR(6),
  amount   DECIMAL(10, 2)
) WITH ('connector' = 'print');

-- Each INSERT INTO ... SELECT starts a durable streaming job. Both read the
-- bounded datagen table, so both finish once its 20 rows went through.
INSERT INTO big_orders
SELECT id,
       UPPER(customer),
       amount,
       CAST(amount * 0.2 AS DECIMAL(10, 2)),
       CASE WHEN amount >= 400 THEN 'huge' ELSE 'large' END
FROM orders
WHERE amount >= 100 AND id % 2 = 0;

INSERT INTO order_log SELECT id, customer, amount FROM orders;

-- FLUSH waits until the running jobs have absorbed every change so far, so
-- the SELECT below sees what the first job wrote. (At the end of the script
-- "sluice run" also waits for all jobs it started to finish.)
FLUSH;

SELECT id, customer, amount, tax, size
FROM big_orders
ORDER BY id;
