// Package runner runs a durable job with checkpoints: it drives the
// checkpoint coordinator (package checkpoint) from one goroutine per
// attempt, makes each completed checkpoint durable (state fsync, then the
// metadata file, then sinks are told to commit), restores the job's keyed
// state and operator snapshots from the latest completed checkpoint after
// a failure or a restart of the engine, restarts failed attempts as the
// restart strategy says, and takes savepoints.
//
// # Protocol per checkpoint n
//
//  1. The coordinator decides to trigger n. The driver allocates the state
//     timestamp W of the epoch after n (state.Store.NextTs) and injects
//     barrier n carrying W at every source subtask. Checkpoint n covers the
//     state versions up to the previous epoch's timestamp, recorded as
//     Metadata.WriteTs.
//  2. Each subtask snapshots (keyed state flushed at its epoch, operator
//     snapshots returned), moves its epoch to W and acknowledges (exec.Ack).
//  3. When every subtask has acknowledged, the state DB is fsynced, the
//     metadata (with checksums) is written atomically, older checkpoints
//     beyond num-retained are deleted and their state versions unpinned,
//     and the subtasks are notified: sinks commit.
//
// # Recovery
//
// An attempt restores the newest valid checkpoint: state is rolled back to
// its WriteTs (state.Store.RestoreNamespace), sources and sinks get their
// snapshots (exec.Restorer). A job whose sources cannot be rewound
// (Spec.Restorable false) starts from scratch instead. Vertices holding
// sources keep the parallelism recorded in the checkpoint; keyed vertices
// take the new one (their key groups move).
package runner
