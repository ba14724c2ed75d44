// Package checkpoint holds the parts of Sluice's checkpointing that need no
// runtime: configuration (Config, Parse), restart strategies (Restarter),
// the checkpoint coordinator (Coordinator) and the on-disk checkpoint
// metadata (Store). It does not import the planner, the parser, the
// connectors or exec; the caller wires it to a running job.
//
// # Configuration
//
// Config holds the execution.checkpointing.*, state.checkpoints.dir and
// restart-strategy.* settings with Flink's names and semantics; the
// defaults are Flink's except that checkpointing is on (every 10 s) and, as
// in Flink 1.19+, the default restart strategy is exponential-delay when
// checkpointing is on and none when it is off. Parse applies a map of
// settings (as SET stores them) over a base Config; IsKey and Validate let
// SET check a key and value before storing them. Durations use Flink's
// syntax ("10 s", "500 ms", "1 min"; a bare number is milliseconds), see
// ParseDuration. Every rejected key or value is a *ConfigError naming the
// key, the value and what is accepted.
//
// # Coordinator
//
// The Coordinator is a deterministic state machine in the style of etcd's
// raft RawNode: it has no goroutine and no clock; the caller feeds it
// events, each with the current time, and carries out the Actions it
// returns, in order (Trigger: inject barrier ID at every source; Complete:
// persist the metadata, then tell the subtasks; Abort: tell them to drop
// it; FailJob: fail the job). Every event also advances time, so actions
// due at that time (timeouts, triggers) come with it; Tick only advances
// time. A checkpoint goes through these states:
//
//	RequestCheckpoint, SourcesEnded ──▶ queued ──┐ fewer than MaxConcurrent pending
//	periodic rule (below) ───────────────────────┤
//	                                             ▼
//	                              pending, IN_PROGRESS   (action: Trigger)
//	                every task acked ┘           └ decline, timeout, subsumed, TaskFailed
//	                       ▼                                       ▼
//	   COMPLETED   (action: Complete)               FAILED   (action: Abort)
//
// Rules:
//
//   - Periodic checkpoints (Interval > 0) are triggered when Interval has
//     passed since the last trigger of any kind (or since NewCoordinator
//     or TaskFailed), MinPause since the last completion, fewer than
//     MaxConcurrent are pending and no request is queued. With MinPause > 0
//     they never overlap.
//   - Requested checkpoints and savepoints (RequestCheckpoint) ignore
//     Interval and MinPause but wait for MaxConcurrent; they are triggered
//     in request order before any periodic one. Ids are given at request
//     time and checkpoints are triggered in id order.
//   - SourcesEnded stops periodic checkpoints and queues a Final
//     checkpoint; when it completes the coordinator is Finished. A failed
//     final checkpoint is queued again (with a new id).
//   - A checkpoint completes when each of the tasks (0..tasks-1) has
//     acknowledged it once. Completion of a checkpoint (not a savepoint)
//     aborts the older pending checkpoints with Abort.Subsumed set; the
//     Complete comes first. Savepoints are never subsumed.
//   - Decline and timeout (pending for Timeout or longer, checked whenever
//     time advances) abort the checkpoint and count as failures, except for
//     savepoints; a completion resets the count. When more than
//     TolerableFailed consecutive failures have happened the coordinator
//     returns FailJob once and triggers nothing more until TaskFailed.
//   - TaskFailed aborts everything pending or queued without counting a
//     failure and starts over as for a new run of the job. Ids keep
//     growing (NextID), so none is reused.
//
// Stats of the pending checkpoints and of the last HistorySize finished
// ones are kept for monitoring (History).
//
// # Restart strategies
//
// Restarter implements none, fixed-delay, failure-rate and
// exponential-delay with Flink's semantics; it takes the time with each
// failure and its randomness (jitter) from a function, so it is
// deterministic under test.
//
// # Metadata store
//
// Store writes one metadata file per completed checkpoint:
//
//	<state.checkpoints.dir>/<job>/chk-<id>/_metadata
//
// and savepoints to any directory (WriteDir, SavepointDir). The file is
//
//	"SLCKMETA" | version uint32 | payload length uint64 | JSON payload | CRC-32C uint32
//
// (big-endian), written to a temporary file, fsynced, renamed into place
// and the directory fsynced, so a crash leaves either the old state or the
// whole new file. A torn or altered file fails the length or checksum
// check (ErrCorrupt): Latest then falls back to the previous checkpoint
// and reports the one it skipped, and Load returns an error naming the
// file and the damage.
package checkpoint
