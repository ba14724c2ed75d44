// Package datagen implements the 'datagen' connector: a source of generated
// rows, with Flink's option names, for demos, tests and benchmarks.
//
//	CREATE TABLE orders (
//	  id     BIGINT,          -- 'fields.id.kind' = 'sequence', start 1, end 1000000
//	  amount DECIMAL(10, 2),  -- random in [min, max]
//	  note   VARCHAR(10),     -- random hex string of 'length' characters
//	  ts     TIMESTAMP(3)     -- random around 2024-01-01 00:00:00 UTC
//	) WITH (
//	  'connector' = 'datagen',
//	  'rows-per-second' = '50000',          -- default 10000; <= 0 means unlimited
//	  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '1000000',
//	  'fields.amount.min' = '0.01', 'fields.amount.max' = '999.99',
//	  'fields.note.length' = '10', 'fields.note.null-rate' = '0.1'
//	);
//
// # Random values
//
// Without 'fields.<col>.min'/'.max': integers span their type, DECIMAL(p, s)
// all p digits, FLOAT/DOUBLE [0, 1), DATE Base ± 365 days, TIME the whole
// day, TIMESTAMP[_LTZ] Base ± 1 day (Base is 2024-01-01 00:00:00 UTC),
// floored to the type's precision. min/max are literals of the column type
// ('2024-01-01 12:00:00', '0.01', ...). Strings are 'length' (default 100,
// at most the CHAR/VARCHAR length) hex digits; BYTES random bytes; BOOLEAN
// TRUE or FALSE. 'null-rate' is the probability of NULL.
//
// # Determinism
//
// Rows are numbered n = 0, 1, 2, ... across the whole table. Every value of
// row n is a pure function of (column index in the table, n): random values
// come from splitmix64 of a per-column salt and n, sequence values are
// start + n. There is no generator state, so row n is the same row whatever
// the parallelism, the projection or the point a subtask resumes from.
//
// # Parallelism
//
// Subtask s of p produces the rows n with n mod p == s, in increasing order,
// and is throttled to rows-per-second / p with a token bucket. Parallelism
// 1 and 3 therefore produce the same multiset of rows. Position and SeekTo
// expose the next row number.
//
// # Checkpoints
//
// A Source is an exec.Snapshotter and exec.Restorer: its snapshot is its
// subtask index, parallelism and next row number, and Restore continues
// exactly after the last row produced before the checkpoint, so a job
// recovered from checkpoint n sees every row once. Because subtask s owns
// the rows n ≡ s (mod p), a position is only meaningful at the parallelism
// it was taken at: a datagen source is restored at its checkpointed
// parallelism (the job driver keeps source vertices' parallelism when it
// rescales a job), and Restore refuses, with an error naming both layouts,
// a snapshot of another subtask or parallelism, or anything but exactly one
// snapshot.
//
// # Bounds
//
// The table is bounded when 'number-of-rows' is set or any column (projected
// or not) is a sequence: it then has min(number-of-rows, end-start+1 of each
// sequence column) rows. Otherwise it is unbounded.
package datagen
