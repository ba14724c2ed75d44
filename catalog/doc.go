// Package catalog holds Sluice's persisted metadata: tables, views
// (materialized or not) and durable jobs, stored as JSON in the state
// store under state.NSCatalog and cached in memory.
//
// # Contract
//
//   - Open(st) loads everything; the Catalog is safe for concurrent use.
//   - Names of tables and views are case-insensitive and share one
//     namespace. Errors wrap ErrExists / ErrNotFound with %w and read
//     "table 'x' already exists", "a view named 'x' already exists",
//     "table 'x' does not exist", "job 'job-7' does not exist".
//   - Every mutation is one Badger transaction, committed before the
//     in-memory state changes: a failed call leaves no trace, in memory or
//     on disk. Table/view ids and job numbers come from persisted sequences
//     updated in the same transaction, so they are never reused.
//   - Getters return deep copies; callers may modify them freely.
//   - Dropping a built-in table (or a materialized view) commits the removal
//     together with a garbage record for its id; then OnDrop hooks run, then
//     the rows (state.BuiltinTablePrefix(id)) are deleted in batches and the
//     record removed. Open finishes any deletion a crash interrupted. Since
//     ids are never reused, leftover rows are unreachable in the meantime.
//
// # Key layout (after the namespace byte 0x01)
//
//	't' lower(name)   → Table JSON
//	'v' lower(name)   → View JSON
//	'j' number(8 BE)  → Job JSON (id "job-<number>")
//	's' 'o'           → next table/view id (decimal)
//	's' 'j'           → next job number (decimal)
//	'g' id(8 BE)      → rows of dropped object id still to delete
//
// Column types are persisted by kind name ("DECIMAL", precision, scale,
// ...), not by the numeric Kind, so renumbering kinds cannot corrupt a
// stored catalog.
package catalog
