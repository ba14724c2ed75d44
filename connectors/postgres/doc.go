// Package postgres is the 'postgres' sink connector: it writes a query's
// changelog into a PostgreSQL table, exactly once through crashes.
//
//	CREATE TABLE totals (k BIGINT, n BIGINT, PRIMARY KEY (k) NOT ENFORCED) WITH (
//	  'connector' = 'postgres',
//	  'url' = 'postgres://app:secret@db:5432/shop?sslmode=require',
//	  'table-name' = 'public.totals');
//
// # Changelog to SQL
//
// With a primary key, each sink subtask folds the changelog of the current
// checkpoint interval by key (the last op of a key wins; -U then +U of a key
// leaves an upsert; -U or -D alone a delete). It writes a folded epoch with
// COPY into a session-local staging table, then one DELETE ... USING for
// the deletes and one INSERT ... SELECT ... ON CONFLICT (key) DO UPDATE for
// the upserts. Without a primary key the input must be append-only and the
// rows are copied straight into the table. Every identifier is quoted
// (pgx.Identifier.Sanitize); values travel as COPY data, never as SQL text.
//
// # Exactly-once (the default)
//
//	       rows of checkpoint n            barrier n               checkpoint n complete
//	Process ──────────────▶ buffer ──Snapshot(n)──▶ pending[n] ──Notify(n)──▶ BEGIN
//	                                 │                                           lock progress(sink, subtask)
//	                                 └─ snapshot bytes = every pending epoch      skip if it records >= n
//	                                    (stored in checkpoint n's metadata)       COPY; DELETE; INSERT..ON CONFLICT
//	                                                                             progress = n
//	                                                                             COMMIT
//
// The rows of checkpoint n become visible in one transaction per sink
// subtask, together with the row (sink id, subtask) of the
// sluice_sink_progress table (created next to the target table). After a
// crash the job restarts from the last completed checkpoint n: Restore
// applies the epochs n's snapshots list unless the progress rows show them
// applied, and drops the rest, which the sources replay. Because the
// progress check sits inside the applying transaction, a retry after a
// COMMIT whose answer was lost (the connection dropped) cannot apply an
// epoch twice. PREPARE TRANSACTION is not needed.
//
// Why the pending rows travel in the snapshot rather than in a staging
// table in Postgres: the barrier then costs no database round trip, the
// rows are written once (not staged and copied again), and a rescaled
// restore needs nothing but the snapshots it is given. The price is that
// checkpoint metadata holds the folded rows of the interval (about the
// encoded size of the distinct keys changed, e.g. ~3 MB for 100 k keys of
// three columns), and that the sink keeps them in memory until the
// checkpoint completes: keep checkpoint intervals such that this stays
// within tens of megabytes.
//
// Atomicity is per sink subtask: with a sink parallelism above 1 a reader
// may see subtask 0's part of checkpoint n before subtask 1's. Run the sink
// at parallelism 1 for table-wide atomic checkpoints.
//
// Exactly-once needs checkpoints (exec.TaskContext.Checkpointing) and a job
// id; without them (ad-hoc INSERT, checkpointing disabled) the sink writes
// as in at-least-once mode and commits the rest at Finish.
//
// # At-least-once
//
// 'sink.delivery-guarantee' = 'at-least-once' writes the folded buffer when
// it holds 'sink.buffer-flush.max-rows' rows, every
// 'sink.buffer-flush.interval', at each checkpoint barrier and at the end of
// input; each write is one transaction. After a crash the rows since the
// last checkpoint are written again: idempotent with a primary key,
// duplicated without one.
//
// # Faults
//
// Connection failures, server restarts, serialization failures and
// deadlocks are retried on a new connection with exponential backoff
// (100 ms doubling to 5 s), 'sink.max-retries' times; then the job fails
// and its restart strategy takes over. Other database errors fail the job
// at once with an *Error naming the table, the checkpoint, the row's key
// when Postgres reports it, and Postgres's message and detail. The
// connection URL appears in messages only with its password redacted.
//
// # Checks at job start
//
// Open checks that the target table exists (or creates it with
// 'sink.create-table' = 'true'), that every column of the Sluice table has
// a Postgres column of that name (exact, else ignoring case) whose type
// receives it without loss (docs/connectors/postgres.md has the table),
// that the remaining Postgres columns are nullable or have defaults, and
// that a primary key or unique index covers exactly the declared primary
// key. Errors name the column.
//
// # Testing with crashes
//
// The sink is an exec operator like any other: an end-to-end test builds a
// job whose last operator comes from NewSink, injects barriers, records the
// sink's snapshots from exec.RunOptions.OnAck, and restarts the job with
// exec.RunOptions.Restore. The step "during-commit" of checkpoint/crash is
// reached inside the applying transaction, after the rows are written and
// before COMMIT. SinkID gives the progress row's sink_id.
package postgres
