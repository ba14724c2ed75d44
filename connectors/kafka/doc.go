// Package kafka implements the 'kafka' connector with Flink's option names:
// a source that reads topics with read_committed isolation and rewinds to
// checkpointed offsets, and a sink that is exactly-once through Kafka
// transactions (two-phase commit on checkpoints) or at-least-once.
//
//	CREATE TABLE clicks (id BIGINT, url STRING) WITH (
//	  'connector' = 'kafka', 'topic' = 'clicks', 'format' = 'json',
//	  'properties.bootstrap.servers' = 'localhost:9092',
//	  'scan.startup.mode' = 'earliest-offset');
//
// # Source
//
// Partition p of topic t is read by subtask (fnv32a(t) + p) mod
// parallelism, computed by every subtask from the topic metadata alone.
// Start offsets are resolved to numbers when a partition is first assigned
// (scan.startup.mode); partitions found later by discovery start at their
// log start. Snapshot returns the next offset of every owned partition;
// Restore seeks there, and an offset below the log start (deleted by
// retention) is ErrOffsetOutOfRange, never a silent reset. Control records
// are kept so that positions move past transaction markers, which lets
// 'scan.bounded.mode' = 'latest-offset' stop exactly at the last stable
// offset seen at start. Offsets of completed checkpoints are committed to
// 'properties.group.id', for monitoring only. Restoring at another
// parallelism is refused (the split is by hash).
//
// A record that does not decode fails the job with a *ParseError naming
// topic, partition and offset, unless '<format>.ignore-parse-errors' is
// set (Source.Skipped counts them).
//
// 'format' = 'debezium-json' makes the source a retract changelog
// (SourceSpec.Mode connectors.Retract): op c/r is +I after, u is -U before
// then +U after, d is -D before; both the plain envelope and the
// {"schema", "payload"} form are read, tombstones are skipped (debezium.go).
//
// # Sink
//
//	none           records are sent, errors surface at the next batch
//	at-least-once  flush at every checkpoint barrier (default)
//	exactly-once   one transaction per checkpoint, committed on completion
//
// Exactly-once, per subtask, with a fixed pool of txnSlots transactional
// ids '<prefix>-<subtask>-<slot>', all initialised at start and never
// grown, so a resumed old instance (a zombie) is fenced and never fences
// the new one (see txn.go for why it is safe):
//
//	rows ──▶ T(n) open on a free slot
//	barrier n:   flush, pre-commit: (id, producer id, epoch) → snapshot n
//	complete n:  EndTxn(commit) for every T(k), k <= n
//	recovery from c: raw EndTxn(commit) for the T(k) snapshot c lists,
//	             then InitProducerID on the other ids (aborts leftovers)
//
// A commit that fails (the broker aborted the transaction: timeout, crash)
// is an error wrapping ErrPossibleDataLoss, never swallowed. NewSink refuses
// exactly-once without EXACTLY_ONCE checkpointing, and a
// 'properties.transaction.timeout.ms' (default DefaultTransactionTimeout)
// shorter than checkpoint interval + timeout + restart delay. Open refuses a
// transactional-id prefix that an open sink of another job (or another
// table of the same job) in this process holds (registry.go); two engines
// sharing a prefix are not detected, Kafka fences them.
//
// # Keys, upsert-kafka, metadata
//
// 'key.format' with 'key.fields' writes those columns as the record key;
// 'value.fields-include' = 'EXCEPT_KEY' leaves them out of the value (and
// the source reads them from the key). The 'upsert-kafka' connector
// (UpsertConnector) keys records by the PRIMARY KEY. Its sink writes
// inserts and update-after rows as values and deletes as tombstones, and
// drops update-before rows; its source turns the records back into a
// changelog (Retract mode), keeping the last record of every key in keyed
// state of the source subtask (normalize.go). METADATA columns (Table.Metadata; keys in
// MetadataKeys) are filled by the source from the record and ignored by
// sinks.
//
// # Watermarks
//
// Source implements ops.SplitSource (a split is a partition), so the
// watermark assigner the planner chains after it keeps one watermark per
// partition and emits the lowest (see ops.WatermarkAssigner).
//
// The faulttest subpackage holds the SQL-level and kill -9 tests.
//
// The devbroker subpackage runs a local broker (`sluice kafka-dev`).
package kafka
