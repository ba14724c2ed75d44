// Package crash injects process crashes at named steps of the checkpoint
// protocol, for fault tests. It is inert unless the environment variable
// SLUICE_CRASH_AT is set when the process starts.
//
// SLUICE_CRASH_AT=step:n makes Point(step, id) exit the process at once
// (exit status 137, no deferred functions, no flushing: as close to kill -9
// as a process can do to itself) the first time it is reached with
// id >= n. Steps used by Sluice:
//
//	before-snapshot   a subtask is about to snapshot barrier id
//	after-snapshot    a subtask snapshotted barrier id but has not acknowledged it
//	after-complete    checkpoint id is durable but sinks were not told to commit
//	during-commit     a sink is half-way through committing checkpoint id
//	after-commit      a sink committed checkpoint id's transactions, before the next checkpoint (kafka)
package crash
