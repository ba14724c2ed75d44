// Package state is Sluice's storage layer: per engine, two Badger
// databases opened by Open in <state-dir>: the main database
// (<state-dir>/badger, normal mode) holding the catalog and the rows of
// built-in tables, and the state database (<state-dir>/badger-state,
// managed mode) holding versioned keyed operator state (KeyedState).
//
// # Contract
//
// Open returns a Store tuned for a small memory footprint (every Badger
// setting is documented in store.go beside its value). The Store is safe for
// concurrent use; Close is idempotent and closes both databases. Packages
// reach the main database through Store.DB and must keep to their own key
// namespace. It runs in normal (not managed) mode with conflict detection
// on; commits are not fsynced unless Options.SyncWrites is set. A
// transaction is limited to ~2.4 MB of keys and inline values (15% of the
// 16 MB memtable); writers that may exceed it split their work (see
// connectors/builtin) or use badger.WriteBatch.
//
// Operator state is reached through KeyedState and the Store's methods
// (NextTs, SyncState, RestoreNamespace, Pin, ExportNamespace, ...);
// Store.StateDB exposes the managed database for tests and diagnostics.
// Store.DeletePrefix deletes in whichever database holds the prefix.
//
// # Key layout
//
// Every key starts with a one-byte namespace; ids are 8 bytes big-endian so
// keys of one object sort together and numerically.
//
//	main database (Store.DB)
//	0x00 NSMeta        0x00 "layout" → LayoutVersion (decimal text)
//	0x01 NSCatalog     see package catalog: 0x01 kind-byte name-or-id
//	0x02 NSBuiltin     0x02 table-id(8) 0x00                → table counters
//	                   0x02 table-id(8) 0x01 EncodeKey(pk)   → EncodeRow(row)
//	                   0x02 table-id(8) 0x01 hash(8) rowid(8) → EncodeRow(row)
//	                   (the last form for tables without a primary key;
//	                   see package connectors/builtin)
//	0x04 NSCheckpoint  reserved: checkpoint metadata
//
//	state database (Store.StateDB, every key versioned by timestamp)
//	0x00 NSMeta        0x00 "clock"            → clock lease (8, see NextTs)
//	                   0x00 "pin" 0x00 owner    → pinned ts (8, see Pin)
//	0x03 NSOperator    0x03 job-id(escaped, 0x00 0x01-terminated) vertex(4) op(4)
//	                   key-group(2) key → Codec-encoded value
//	                   (keyed operator state: KeyedState, OperatorNamespace)
//
// Table ids come from the catalog and are never reused, so the rows of a
// dropped table can be deleted lazily (Store.DeletePrefix on
// BuiltinTablePrefix) without ever being visible to a new table.
//
// # Versions and checkpoints
//
// Versions of the state database are timestamps from one store-wide
// logical clock: NextTs returns an even timestamp above every version ever
// written and every timestamp handed out before (also across restarts:
// the clock is leased in NSMeta). A subtask's KeyedStates share an Epoch:
// they read at its timestamp and write every write-back (eviction or
// Flush) at it. Writing a key again at the same timestamp replaces it, so
// an epoch's last write-back of a key wins. The checkpoint protocol:
//
//	epoch n of a job writes at W_n (W_1 from NextTs at start, pinned)
//	coordinator triggers checkpoint n: W_{n+1} = NextTs(), barrier carries it
//	each subtask at barrier n: Flush its KeyedStates (all dirty at W_n),
//	    then Epoch.Set(W_{n+1}); Epoch.TakeWritten is the incremental size
//	every subtask acknowledged: SyncState (fsync), then record checkpoint n
//	    with WriteTs W_n; Pin(job, WriteTs of the oldest retained checkpoint)
//	recovery: startTs = RestoreNamespace(JobNamespace(job), W_n), and the
//	    restarted job's first epoch writes at startTs
//
// Checkpoint n's state is every version <= W_n. Evictions during epoch
// n+1 write versions above W_n; a crash leaves them on disk, and
// RestoreNamespace rewrites, at a fresh timestamp, the value as of W_n of
// each key that has a version above W_n: the cost follows what was
// written after the checkpoint, not the size of the state.
//
// Retention: Badger's discard timestamp is the smallest pin (Pin, Unpin;
// persisted, so pins hold from Open on), or the newest timestamp when
// nothing is pinned. Compaction keeps, per key, every version above it and
// the newest at or below it, which is what reads at any pinned timestamp
// need. A job must pin its first epoch's timestamp before writing at a
// later one, and moves its pin forward only.
//
// Durability: a write-back is in the OS page cache once it returns, so it
// survives a killed process; SyncState makes everything written before it
// durable against power loss (it fsyncs WALs, value logs and the
// directory: see SyncState). Versions written after the last synced
// checkpoint may survive or not; recovery rolls them back either way.
//
// Savepoints: ExportNamespace writes a namespace as of a timestamp in a
// self-describing, checksummed stream; ImportNamespace verifies one as a
// whole and writes it, with its prefix rewritten, at one fresh timestamp.
//
// # Encodings
//
// EncodeKey/DecodeKey: order-preserving, self-delimiting encoding of datums
// for keys (bytes.Compare agrees with types.Compare, NULL first).
// EncodeRow/DecodeRow: compact value encoding of a row (column count, NULL
// bitmap, varints, raw float bits, length-prefixed strings); no reflection.
//
// # Hashing and key groups
//
// HashDatums and HashColumns compute the same 64-bit hash of a row's
// columns, one from datums and one from vectors without allocating. Equal
// SQL values (DatumsEqual) hash equally. KeyGroup maps a hash to one of
// maxParallelism key groups (high bits scaled, so key groups are contiguous
// hash ranges); KeyGroupOwner and KeyGroupRange assign contiguous ranges of
// key groups to subtasks as Flink does, so state can be rescaled. Exchanges,
// keyed state and built-in table sources all route with these functions,
// which makes partitioning by the same columns agree everywhere.
package state
