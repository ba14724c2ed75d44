// Package state is Sluice's storage layer: one Badger database per engine,
// opened by Open in <state-dir>/badger, holding the catalog, the rows of
// built-in tables, keyed operator state (KeyedState) and, later,
// checkpoints.
//
// # Contract
//
// Open returns a Store tuned for a small memory footprint (every Badger
// setting is documented in store.go beside its value). The Store is safe for
// concurrent use; Close is idempotent. Packages reach Badger through
// Store.DB and must keep to their own key namespace. Badger runs in normal
// (not managed) mode with conflict detection on; commits are not fsynced
// unless Options.SyncWrites is set. A transaction is limited to ~2.4 MB of
// keys and inline values (15% of the 16 MB memtable); writers that may
// exceed it split their work (see connectors/builtin) or use
// badger.WriteBatch.
//
// # Key layout
//
// Every key starts with a one-byte namespace; ids are 8 bytes big-endian so
// keys of one object sort together and numerically.
//
//	0x00 NSMeta        0x00 "layout" → LayoutVersion (decimal text)
//	0x01 NSCatalog     see package catalog: 0x01 kind-byte name-or-id
//	0x02 NSBuiltin     0x02 table-id(8) 0x00                → table counters
//	                   0x02 table-id(8) 0x01 EncodeKey(pk)   → EncodeRow(row)
//	                   0x02 table-id(8) 0x01 hash(8) rowid(8) → EncodeRow(row)
//	                   (the last form for tables without a primary key;
//	                   see package connectors/builtin)
//	0x03 NSOperator    0x03 job-id(escaped, 0x00 0x01-terminated) vertex(4) op(4)
//	                   key-group(2) key → Codec-encoded value
//	                   (keyed operator state: KeyedState, OperatorNamespace)
//	0x04 NSCheckpoint  reserved: checkpoint metadata
//
// Table ids come from the catalog and are never reused, so the rows of a
// dropped table can be deleted lazily (Store.DeletePrefix on
// BuiltinTablePrefix) without ever being visible to a new table.
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
