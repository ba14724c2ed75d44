-- Nexmark sources and sinks. `sluice bench nexmark` replaces ${EVENTS_NUM}
-- (events of all kinds), ${RATE} (event-time rate, events/s),
-- ${MAX_DRIFT} (the event time of 100 000 events at that rate) and
-- ${OUTPUT_DIR} (a scratch directory) before running this script; see
-- docs/nexmark.md. The three sources are one watermark alignment group, so
-- they read at about the same event time, as one combined source would.

CREATE TABLE person (
  id BIGINT, name STRING, emailAddress STRING, creditCard STRING, city STRING, state STRING,
  dateTime TIMESTAMP(3), extra STRING,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
) WITH ('connector' = 'nexmark', 'nexmark.table' = 'person',
        'events.num' = '${EVENTS_NUM}', 'first-event.rate' = '${RATE}',
        'scan.watermark.alignment.group' = 'nexmark', 'scan.watermark.alignment.max-drift' = '${MAX_DRIFT}');

CREATE TABLE auction (
  id BIGINT, itemName STRING, description STRING, initialBid BIGINT, reserve BIGINT,
  dateTime TIMESTAMP(3), expires TIMESTAMP(3), seller BIGINT, category BIGINT, extra STRING,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
) WITH ('connector' = 'nexmark', 'nexmark.table' = 'auction',
        'events.num' = '${EVENTS_NUM}', 'first-event.rate' = '${RATE}',
        'scan.watermark.alignment.group' = 'nexmark', 'scan.watermark.alignment.max-drift' = '${MAX_DRIFT}');

CREATE TABLE bid (
  auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
  dateTime TIMESTAMP(3), extra STRING,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
) WITH ('connector' = 'nexmark', 'nexmark.table' = 'bid',
        'events.num' = '${EVENTS_NUM}', 'first-event.rate' = '${RATE}',
        'scan.watermark.alignment.group' = 'nexmark', 'scan.watermark.alignment.max-drift' = '${MAX_DRIFT}');

-- The static side input of q13: key 0..9999 and a value, written by the bench.
CREATE TABLE side_input (key BIGINT, `value` STRING)
  WITH ('connector' = 'filesystem', 'path' = '${OUTPUT_DIR}/side_input', 'format' = 'csv');

-- The generator alone (sluice bench nexmark --query generator).
CREATE TABLE gen_person (
  id BIGINT, name STRING, emailAddress STRING, creditCard STRING, city STRING, state STRING,
  dateTime TIMESTAMP(3), extra STRING) WITH ('connector' = 'blackhole');
CREATE TABLE gen_auction (
  id BIGINT, itemName STRING, description STRING, initialBid BIGINT, reserve BIGINT,
  dateTime TIMESTAMP(3), expires TIMESTAMP(3), seller BIGINT, category BIGINT, extra STRING)
  WITH ('connector' = 'blackhole');
CREATE TABLE gen_bid (
  auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
  dateTime TIMESTAMP(3), extra STRING) WITH ('connector' = 'blackhole');

CREATE TABLE nexmark_q0 (auction BIGINT, bidder BIGINT, price BIGINT, dateTime TIMESTAMP(3), extra STRING)
  WITH ('connector' = 'blackhole');
CREATE TABLE nexmark_q1 (auction BIGINT, bidder BIGINT, price DECIMAL(18, 3), dateTime TIMESTAMP(3), extra STRING)
  WITH ('connector' = 'blackhole');
CREATE TABLE nexmark_q2 (auction BIGINT, price BIGINT) WITH ('connector' = 'blackhole');
CREATE TABLE nexmark_q3 (name STRING, city STRING, state STRING, id BIGINT) WITH ('connector' = 'blackhole');
CREATE TABLE nexmark_q4 (id BIGINT, final BIGINT) WITH ('connector' = 'blackhole');
CREATE TABLE nexmark_q5 (auction BIGINT, num BIGINT) WITH ('connector' = 'blackhole');
CREATE TABLE nexmark_q6 (seller BIGINT, avg_price DECIMAL(18, 4)) WITH ('connector' = 'blackhole');
CREATE TABLE nexmark_q7 (auction BIGINT, price BIGINT, bidder BIGINT, dateTime TIMESTAMP(3), extra STRING)
  WITH ('connector' = 'blackhole');
CREATE TABLE nexmark_q8 (id BIGINT, name STRING, stime TIMESTAMP(3)) WITH ('connector' = 'blackhole');
CREATE TABLE nexmark_q9 (
  id BIGINT, itemName STRING, description STRING, initialBid BIGINT, reserve BIGINT,
  dateTime TIMESTAMP(3), expires TIMESTAMP(3), seller BIGINT, category BIGINT, extra STRING,
  auction BIGINT, bidder BIGINT, price BIGINT, bid_dateTime TIMESTAMP(3), bid_extra STRING)
  WITH ('connector' = 'blackhole');
-- q10 writes files; the bench replaces ${OUTPUT_DIR} with a temporary directory.
CREATE TABLE nexmark_q10 (auction BIGINT, bidder BIGINT, price BIGINT, dateTime TIMESTAMP(3), extra STRING,
  dt STRING, hm STRING) WITH ('connector' = 'filesystem', 'path' = '${OUTPUT_DIR}/q10', 'format' = 'csv');
CREATE TABLE nexmark_q11 (bidder BIGINT, bid_count BIGINT, starttime TIMESTAMP(3), endtime TIMESTAMP(3))
  WITH ('connector' = 'blackhole');
CREATE TABLE nexmark_q12 (bidder BIGINT, bid_count BIGINT, starttime TIMESTAMP(3), endtime TIMESTAMP(3))
  WITH ('connector' = 'blackhole');
CREATE TABLE nexmark_q13 (auction BIGINT, bidder BIGINT, price BIGINT, dateTime TIMESTAMP(3), `value` STRING)
  WITH ('connector' = 'blackhole');
CREATE TABLE nexmark_q14 (auction BIGINT, bidder BIGINT, price DECIMAL(18, 3), bidTimeType STRING,
  dateTime TIMESTAMP(3), extra STRING, c_counts BIGINT) WITH ('connector' = 'blackhole');
CREATE TABLE nexmark_q15 (
  `day` STRING, total_bids BIGINT, rank1_bids BIGINT, rank2_bids BIGINT, rank3_bids BIGINT,
  total_bidders BIGINT, rank1_bidders BIGINT, rank2_bidders BIGINT, rank3_bidders BIGINT,
  total_auctions BIGINT, rank1_auctions BIGINT, rank2_auctions BIGINT, rank3_auctions BIGINT)
  WITH ('connector' = 'blackhole');
CREATE TABLE nexmark_q16 (
  channel STRING, `day` STRING, `minute` STRING,
  total_bids BIGINT, rank1_bids BIGINT, rank2_bids BIGINT, rank3_bids BIGINT,
  total_bidders BIGINT, rank1_bidders BIGINT, rank2_bidders BIGINT, rank3_bidders BIGINT,
  total_auctions BIGINT, rank1_auctions BIGINT, rank2_auctions BIGINT, rank3_auctions BIGINT)
  WITH ('connector' = 'blackhole');
CREATE TABLE nexmark_q17 (
  auction BIGINT, `day` STRING, total_bids BIGINT, rank1_bids BIGINT, rank2_bids BIGINT, rank3_bids BIGINT,
  min_price BIGINT, max_price BIGINT, avg_price DECIMAL(18, 4), sum_price BIGINT)
  WITH ('connector' = 'blackhole');
CREATE TABLE nexmark_q18 (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
  dateTime TIMESTAMP(3), extra STRING) WITH ('connector' = 'blackhole');
CREATE TABLE nexmark_q19 (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
  dateTime TIMESTAMP(3), extra STRING, rank_number BIGINT) WITH ('connector' = 'blackhole');
CREATE TABLE nexmark_q20 (
  auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING, bid_dateTime TIMESTAMP(3),
  bid_extra STRING, itemName STRING, description STRING, initialBid BIGINT, reserve BIGINT,
  auction_dateTime TIMESTAMP(3), expires TIMESTAMP(3), seller BIGINT, category BIGINT, auction_extra STRING)
  WITH ('connector' = 'blackhole');
CREATE TABLE nexmark_q21 (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, channel_id STRING)
  WITH ('connector' = 'blackhole');
CREATE TABLE nexmark_q22 (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING,
  dir1 STRING, dir2 STRING, dir3 STRING) WITH ('connector' = 'blackhole');
