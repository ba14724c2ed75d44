// Package builtin stores the rows of built-in tables (CREATE TABLE without
// WITH) and materialized views in the state store, and serves them as the
// connector named "builtin": a bounded or continuous source and an
// upserting or appending sink.
//
// # Wiring
//
//	st, _ := state.Open(dir, state.Options{})
//	cat, _ := catalog.Open(st)
//	bs := builtin.NewStore(st, cat) // hooks catalog drops
//	builtin.Register(bs)            // connector "builtin"
//
// Tables are resolved by name through the catalog (a built-in table, or a
// materialized view, whose rows live under its catalog ID). The
// connectors.Table passed to NewSource/NewSink must carry the table's
// stored columns (for tables: the physical columns) and primary key; the
// first use in a process binds them and later uses must match.
//
// # Storage
//
// Under state.BuiltinTablePrefix(id):
//
//	0x00                         uvarint version, uvarint next row id
//	0x01 EncodeKey(pk)           EncodeRow(row)   tables with a primary key
//	0x01 hash(8) rowid(8)        EncodeRow(row)   tables without one
//
// Without a primary key rows are keyed by their routing hash (HashColumns
// over all columns) followed by a row id from a per-table sequence. This is
// a deliberate refinement of "row id only": deleting "one row equal to r"
// seeks the hash in O(log n) instead of scanning the table, and the rows
// of one subtask's key groups form one contiguous key range, so a parallel
// snapshot reads each row once. With a primary key every subtask of a
// parallel snapshot iterates all keys (values only for its own rows): P
// subtasks read the key space P times.
//
// # Writes: Apply
//
// Apply(id, schema, pk, batch) applies a changelog batch in one Badger
// transaction under the table's lock (writers of a table are serialised),
// then publishes the effective change as the next version (see Apply for
// the semantics). Batches above a Badger transaction (~2.4 MB) are split
// into atomic chunks, each its own version. Dropping the table in the
// catalog (catalog.DropTable) fails later writers and readers with
// ErrDropped; the catalog deletes the rows.
//
// # Reads: NewSource
//
// A bounded source is one consistent snapshot per subtask. A continuous
// source takes its snapshot and subscribes to the change stream (in Open)
// under the same lock that Apply holds from commit to publish, so nothing is
// lost or doubled between the two; it emits the snapshot as +I, then the changes.
// When idle, Next returns an empty batch after 50 ms. Snapshot rows and
// changes are routed to subtasks by the same hash (see NewSource), so each
// key is handled by one subtask, in order.
//
// Memory and back-pressure: committed changes go to one in-memory log per
// table, shared read-only by its continuous readers, and are dropped once
// every reader has read them. An Apply that finds Store.QueueLen (default
// 64) or more versions unread by the slowest reader waits, before taking
// the table lock, until that reader catches up or closes: changes are
// never dropped, and a slow reader slows the table's writers (not its other
// readers, nor the opening of new ones). A reader that is opened but never
// read (its job stalled) therefore stalls writers after QueueLen batches,
// and a job that reads a table continuously and writes back into it can
// deadlock once the log is full; the planner should reject such cycles.
//
// # FLUSH
//
// Version(id) is the last committed version; every version is published to
// every subscribed reader, and ReaderProgress.Emitted (Readers(id)) is the
// version up to which a reader subtask has returned its changes from Next
// (a subtask advances through versions that hold none of its rows too).
// To make writes visible, read v := Version(id) after them, call
// WaitEmitted(ctx, id, v), then let the job drain what the sources emitted.
//
// # Sink and checkpoints
//
// A table with a primary key is written directly (Apply per batch), also
// when the job takes checkpoints: after a recovery from checkpoint n the
// job replays the rows after n, and upserts and deletes by key are
// idempotent, so the table converges to a failure-free run's result
// (readers may briefly see older values of replayed keys).
//
// A table without a primary key is written exactly-once when the job takes
// checkpoints (TaskContext.Checkpointing): the sink stages the rows of each
// checkpoint in the table's staging area,
//
//	0x02 table-id(8) 0x02 len(2) job subtask(4) base(8) seq(8) → chunk of rows
//
// durable at the barrier (Badger synced) and applied when the checkpoint
// completes, each chunk in one transaction that also deletes it (so the
// deletion is the progress record: a chunk is applied exactly once, even
// if the notification is lost or the apply crashes half-way), published to
// continuous readers like any Apply. Recovery applies the chunks of the
// restored checkpoint still there and deletes later ones. Memory per sink
// subtask is bounded by one chunk (about half a Badger transaction, ~1 MB):
// a checkpoint's rows are spilled to the staging area as they arrive. The
// sink's type comment has the protocol. Without checkpoints rows are
// applied at once, and a rerun after a failure appends them again.
//
// Badger's own durability applies: Snapshot calls DB.Sync, which covers a
// process crash (kill -9); surviving power loss also needs
// state.Options.SyncWrites.
//
// # Limits
//
// A continuous reader restarted after a crash starts again from a fresh
// snapshot (its position is not checkpointed).
package builtin
