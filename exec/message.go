package exec

import "github.com/sluicesql/sluice/exec/types"

// MessageKind says what a Message carries.
type MessageKind uint8

// Message kinds.
const (
	MsgBatch     MessageKind = iota // Batch holds rows
	MsgBarrier                      // Barrier holds a checkpoint barrier
	MsgWatermark                    // Watermark holds an event-time watermark (µs)
	MsgEnd                          // end of stream: the sender sends nothing more
	// MsgEndOfData says the sender's input is exhausted and its operators
	// have finished (emitted what they hold back for the end); only
	// barriers and MsgEnd follow. It is sent with RunOptions.FinalCheckpoint
	// so that what operators emit at the end precedes the final checkpoint
	// and is committed by it.
	MsgEndOfData
)

// Barrier marks the cut of checkpoint CheckpointID in a stream.
type Barrier struct {
	CheckpointID int64
	// Savepoint marks a barrier of a savepoint taken to stop the job.
	Savepoint bool
	// Final marks the last checkpoint of a job whose sources have all
	// ended (RunOptions.FinalCheckpoint): sources send end of stream right
	// after it, and subtasks wait for its completion before they exit.
	Final bool
	// WriteTs is the state write timestamp of the epoch that begins after
	// this barrier: once a subtask has snapshotted the barrier it moves its
	// TaskContext.Epoch to WriteTs (when both are set). See state.Epoch.
	WriteTs uint64
}

// Message is the one type carried by every edge of a job graph.
type Message struct {
	Kind      MessageKind
	Batch     *types.Batch
	Barrier   Barrier
	Watermark int64
}
