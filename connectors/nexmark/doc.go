// Package nexmark implements the 'nexmark' connector: the event generator of
// the Nexmark streaming benchmark (an online auction: people register,
// auction items and bid), as a source of one table per event kind.
//
//	CREATE TABLE bid (
//	  auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
//	  dateTime TIMESTAMP(3), extra STRING,
//	  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
//	) WITH (
//	  'connector' = 'nexmark',
//	  'nexmark.table' = 'bid',          -- person | auction | bid (required)
//	  'events.num' = '10000000',        -- events of all kinds; unbounded when absent
//	  'first-event.rate' = '10000000'   -- event-time rate, events/s (default 10 M)
//	);
//
// The columns of each table (declare any subset, in any order, matched by
// name case-insensitively):
//
//	person:  id, name, emailAddress, creditCard, city, state, dateTime, extra
//	auction: id, itemName, description, initialBid, reserve, dateTime, expires,
//	         seller, category, extra
//	bid:     auction, bidder, price, channel, url, dateTime, extra
//
// Ids and prices are BIGINT, dateTime and expires TIMESTAMP(p) or
// TIMESTAMP_LTZ(p) (values are whole milliseconds), the others strings.
//
// # Events
//
// Events are numbered n = 0, 1, 2, ... across the three kinds, as in the
// reference generator (Apache Beam's Nexmark, used by nexmark-flink): n mod
// 50 = 0 is a person, 1..3 an auction, 4..49 a bid. Event n happens at
// base + floor(n × 1000 / rate) ms, base being 2015-07-15 00:00:00 UTC (the
// reference's base time) and rate 'first-event.rate', so the event times of
// the three tables interleave as if they were one stream. With the default
// 10 M events/s, 10 M events span one second of event time, as in
// nexmark-flink's setup.
//
// Values follow the reference's distributions: person ids are
// 1000 + n/50; an auction's seller is a "hot" seller (a multiple of 100) 3
// times in 4, else one of the last 1000 people (up to 10 ahead); a bid's
// auction is hot (a multiple of 100) half the time, else one of the last 100
// auctions (up to 10 ahead), and its bidder hot 3 times in 4; prices are
// round(100 × 10^(6u)) cents for u uniform in [0, 1); categories 10..14;
// an auction expires 1 ms to twice "the time 100 auctions take" after it
// opens; channels are one of four hot ones (Google, Facebook, Baidu, Apple)
// half the time, else one of 10 000 "channel-i" whose url carries
// "&channel_id=..." 9 times in 10; extra pads each event towards the
// reference's average sizes (person 200, auction 500, bid 100 bytes).
// Like the reference, ids may point a little ahead of the events generated
// so far (a bid may name an auction that opens shortly after it).
//
// # Determinism and projection
//
// Every value is a pure function of (event number, column): each column
// draws from its own splitmix64 stream seeded by the event number, so an
// event is the same whatever the parallelism, the projection (unrequested
// columns are not generated at all) or the point a subtask resumes from.
//
// # Why one table per kind
//
// nexmark-flink declares one combined table (an event type and three ROW
// columns) and views that filter it. A per-kind table generates only the
// events a query reads: q0–q2 and q5, q7, q11, ... read only bids and skip
// the 4 events in 50 that are not bids, with no ROW type and no filter. The
// bid table still numbers its rows with their event numbers, so times and
// ids are exactly those of the interleaved stream.
//
// # Parallelism and checkpoints
//
// A table's rows are numbered k = 0, 1, ... in event order (row k of the bid
// table is event (k/46)×50 + 4 + k mod 46). Subtask s of p produces the rows
// k ≡ s (mod p), in increasing order, so every subtask advances through
// event time at the same pace (watermarks of parallel subtasks stay close).
// Position and SeekTo expose the next row number for checkpoints. The
// source is not throttled: it produces as fast as the job consumes.
package nexmark
