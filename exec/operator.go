package exec

import (
	"context"

	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// TaskContext describes the subtask an operator or source runs in.
type TaskContext struct {
	// Ctx is cancelled when the job stops; blocking calls must honour it.
	Ctx context.Context
	// JobID is the durable job's id ("" for an ad-hoc query).
	JobID string
	// VertexID identifies the vertex (stable across restarts of the same plan).
	VertexID int
	// Subtask is this subtask's index in [0, Parallelism).
	Subtask, Parallelism int
	// MaxParallelism is the number of key groups.
	MaxParallelism int
	// State is the store keyed operator state lives in (RunOptions.State);
	// nil when the job runs without state, in which case stateful operators
	// keep their state in memory.
	State *state.Store
	// OperatorIndex is the position of the operator in its vertex's chain
	// (0 for the first). Each operator gets its own TaskContext; a source
	// sees -1. With JobID and VertexID it names the operator's state (see
	// StateNamespace).
	OperatorIndex int
	// Epoch is the subtask's state epoch when the job takes checkpoints
	// (RunOptions.StartTs set), else nil. Operators give it to their
	// KeyedStates (KeyedState.SetEpoch) so that keyed state is versioned by
	// checkpoint; the runtime advances it after each barrier's snapshot.
	Epoch *state.Epoch
	// Checkpointing reports whether the job takes checkpoints. Sinks that
	// commit at checkpoints (CheckpointListener) commit what is left at
	// Finish only when it is false.
	Checkpointing bool
}

// StateNamespace returns the key prefix under which the operator that tc
// was given to keeps its keyed state in tc.State:
// state.OperatorNamespace(tc.JobID, tc.VertexID, tc.OperatorIndex).
func StateNamespace(tc *TaskContext) []byte {
	return state.OperatorNamespace(tc.JobID, tc.VertexID, tc.OperatorIndex)
}

// Collector receives the batches an operator emits. Collect takes ownership
// of b. It returns an error when the job is stopping; the operator must then
// return that error.
type Collector interface {
	Collect(b *types.Batch) error
}

// Operator transforms batches. It is the one required capability.
//
// Contract: the runtime calls an operator's methods from one goroutine only
// (its subtask), in the order Open, Process*, Finish, Close. Process takes
// ownership of b: it may modify b in place and pass it on with out.Collect,
// or Release it. Close is called exactly once, also when Open failed or was
// never called, and must be idempotent.
type Operator interface {
	Process(b *types.Batch, out Collector) error
}

// Opener is implemented by operators that prepare resources before the
// first batch.
type Opener interface {
	Open(tc *TaskContext) error
}

// Starter is implemented by operators that emit before any input arrives,
// such as a global aggregate's initial row (COUNT(*) = 0 over an empty
// table). Start is called once, after every operator of the chain is open
// and before the first message is processed.
type Starter interface {
	Start(out Collector) error
}

// Finisher is implemented by operators that emit at end of input (sort,
// limit, bounded aggregates). Finish is called once when every input has
// ended, before end of stream is forwarded.
type Finisher interface {
	Finish(out Collector) error
}

// Closer is implemented by operators that hold resources.
type Closer interface {
	Close() error
}

// WatermarkHandler is implemented by operators that act on event time. It
// returns the watermark to forward downstream (usually wm itself).
type WatermarkHandler interface {
	ProcessWatermark(wm int64, out Collector) (int64, error)
}

// Snapshotter is implemented by stateful operators and sources. Snapshot
// is called when the barrier of checkpoint id has been aligned on every
// input, before it is forwarded (for a source: between two batches).
//
// Keyed state must be written back by then (KeyedState.Flush): checkpoint
// id covers what Badger holds at the subtask's Epoch. The returned bytes
// (nil when there are none) are the operator's other state for this
// subtask — a source's position, a sink's pending transaction — and are
// stored in checkpoint id's metadata and given back to Restore when the job
// is recovered from it. The operator must not change behaviour for rows
// before the barrier after returning.
type Snapshotter interface {
	Snapshot(id int64) ([]byte, error)
}

// Restorer is implemented by operators and sources whose Snapshot returns
// state. When a job is recovered from checkpoint id, Restore is called after
// Open (and before Start and the first Process or Next) with the snapshots
// that checkpoint recorded for this operator and that map to this subtask:
// with unchanged parallelism exactly this subtask's own one; after a
// rescale those of old subtasks j with j % Parallelism == Subtask. Empty
// snapshots are omitted, so snaps may be empty. Checkpoint id completed, so
// a sink must make sure the transactions its snapshots list are committed
// (idempotently: they may already be) and abort anything newer.
type Restorer interface {
	Restore(id int64, snaps [][]byte) error
}

// CheckpointListener is implemented by operators (usually sinks) that commit
// side effects once checkpoint id is complete everywhere. Notifications
// may skip ids (a later completion subsumes earlier ones) and come at any
// time between batches; a subtask that has finished receives none, except
// that with RunOptions.FinalCheckpoint every subtask waits for the
// completion of the final checkpoint before it closes.
type CheckpointListener interface {
	NotifyCheckpointComplete(id int64) error
}

// Source produces the rows of one split of a table.
//
// Contract: the runtime calls Open, then Next repeatedly from the subtask's
// goroutine, then Close exactly once (also after a failed Open). Next fills b
// (already Reset to the source's column types) with at most
// types.DefaultBatchSize rows and returns end = true when a bounded source has
// no more rows (b may still hold the last rows). An unbounded source with no
// data should return an empty batch within about 100 ms rather than block, so
// the runtime can inject barriers and notice cancellation.
type Source interface {
	Open(tc *TaskContext) error
	Next(b *types.Batch) (end bool, err error)
	Close() error
}

// OperatorFactory builds the operator of one subtask.
type OperatorFactory func(subtask int) (Operator, error)

// SourceFactory builds the source of one subtask.
type SourceFactory func(subtask int) (Source, error)
