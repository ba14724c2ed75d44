package exec

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// CheckpointingMode says how a subtask with several inputs aligns barriers.
type CheckpointingMode uint8

// Checkpointing modes (execution.checkpointing.mode).
const (
	// ExactlyOnce stops reading an input once it delivered barrier n until
	// every input has delivered it.
	ExactlyOnce CheckpointingMode = iota
	// AtLeastOnce keeps reading every input and snapshots when the last
	// input delivers barrier n; records after the barrier on faster inputs
	// may be replayed after a restore.
	AtLeastOnce
)

// RunOptions configures a running job. The zero value is valid.
type RunOptions struct {
	// JobID is passed to every operator in TaskContext.JobID.
	JobID string
	// ChannelCapacity is the number of messages buffered on each channel
	// between two subtasks (default 16). Bounded channels give
	// back-pressure.
	ChannelCapacity int
	// MaxParallelism is the number of key groups when the graph does not
	// set JobGraph.MaxParallelism (default 128).
	MaxParallelism int
	// BatchSize is the largest batch a Hash exchange sends (default
	// types.DefaultBatchSize).
	BatchSize int
	// Mode is the barrier alignment mode (default ExactlyOnce).
	Mode CheckpointingMode
	// OnAck is called by every subtask once it has snapshotted a barrier
	// (sources when the barrier is injected, others when it is aligned). It
	// is called from the subtask's goroutine, concurrently for different
	// subtasks, and must not block for long. A checkpoint is complete when
	// every subtask of the job has acknowledged it.
	OnAck func(Ack)
	// OnSubtaskFinished is called when a subtask has ended normally (all its
	// inputs ended, Finish and Close done); it will acknowledge no further
	// barrier. Same calling rules as OnBarrierAck.
	OnSubtaskFinished func(vertex, subtask int)
	// State is the store operators keep keyed state in
	// (TaskContext.State); nil runs the job without state. State is
	// namespaced by job id, so a job with State needs a JobID unique among
	// the jobs sharing the store.
	State *state.Store
	// StartTs, when set (with State), turns on versioned state: every
	// subtask gets TaskContext.Epoch starting at StartTs, advanced by each
	// barrier's WriteTs. The caller must take it from State.NextTs (or
	// State.RestoreNamespace on recovery).
	StartTs uint64
	// FinalCheckpoint makes a bounded job end with a checkpoint: a source
	// subtask that reaches its end calls OnSourceEnded, keeps answering
	// barriers (at its end position) and sends end of stream only after
	// forwarding a barrier marked Final; every subtask that saw the Final
	// barrier then waits for its completion (Job.NotifyCheckpointComplete)
	// before it closes, so exactly-once sinks commit their last data.
	FinalCheckpoint bool
	// OnCommitted is called by a subtask once it has handled the completion
	// of checkpoint id (its CheckpointListeners committed). Same calling
	// rules as OnAck.
	OnCommitted func(vertex, subtask int, id int64)
	// OnSourceEnded is called once by each source subtask that reached its
	// end when FinalCheckpoint is set. Same calling rules as OnAck.
	OnSourceEnded func(vertex, subtask int)
	// Restore, when set, recovers the job from a checkpoint: see Restorer.
	Restore *Restore
}

// Restore says which checkpoint a job is recovered from and what its
// operators snapshotted.
type Restore struct {
	// CheckpointID is the completed checkpoint the job resumes from.
	CheckpointID int64
	// Snapshots returns what operator op (-1: the source) of subtask
	// subtask of vertex recorded in the checkpoint, already mapped to the
	// current parallelism (see Restorer); nil or empty when nothing.
	Snapshots func(vertex, subtask, op int) [][]byte
}

// Ack is one subtask's acknowledgement of a checkpoint barrier.
type Ack struct {
	Vertex, Subtask int
	CheckpointID    int64
	// Sink is true for subtasks of vertices without downstream vertices.
	Sink bool
	// Final and Savepoint repeat the barrier's flags.
	Final, Savepoint bool
	// Snapshots holds the non-empty results of Snapshot.
	Snapshots []OpSnapshot
	// StateBytes is what the subtask wrote back to keyed state since its
	// previous acknowledgement (state.Epoch.TakeWritten).
	StateBytes int64
	// Alignment is how long the subtask waited between the first and the
	// last input delivering the barrier.
	Alignment time.Duration
}

// OpSnapshot is one operator's Snapshot result; Op is -1 for the source.
type OpSnapshot struct {
	Op   int
	Data []byte
}

func (o *RunOptions) setDefaults() {
	if o.ChannelCapacity <= 0 {
		o.ChannelCapacity = 16
	}
	if o.MaxParallelism <= 0 {
		o.MaxParallelism = 128
	}
	if o.BatchSize <= 0 {
		o.BatchSize = types.DefaultBatchSize
	}
}

// Job is a running job graph.
//
// Its methods may be called from any goroutine.
type Job struct {
	graph  *JobGraph
	opts   RunOptions
	maxPar int

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	wg     sync.WaitGroup

	subtasks [][]*subtask // by vertex, then subtask index
	sources  []*subtask   // subtasks of source vertices

	// acks counts acknowledgements waiting for background write-backs;
	// the job ends only after them.
	acks sync.WaitGroup

	mu       sync.Mutex
	err      error // first failure
	stopped  atomic.Bool
	finalErr error // set before done is closed
}

// Run validates g and starts every subtask of every vertex as a goroutine.
// It returns at once; use Wait to learn how the job ends. Cancelling ctx
// cancels the job. g must not be modified while the job runs.
func Run(ctx context.Context, g *JobGraph, opts RunOptions) (*Job, error) {
	opts.setDefaults()
	maxPar := g.MaxParallelism
	if maxPar <= 0 {
		maxPar = opts.MaxParallelism
	}
	if opts.State != nil && opts.JobID == "" {
		return nil, fmt.Errorf("%w: RunOptions.State needs a JobID to name the job's state", ErrInvalidGraph)
	}
	if err := validate(g, maxPar); err != nil {
		return nil, err
	}
	j := &Job{graph: g, opts: opts, maxPar: maxPar, done: make(chan struct{})}
	j.ctx, j.cancel = context.WithCancel(ctx)
	j.wire()
	for _, sts := range j.subtasks {
		for _, st := range sts {
			j.wg.Add(1)
			go st.run()
		}
	}
	go func() {
		j.wg.Wait()
		j.acks.Wait()
		j.mu.Lock()
		switch {
		case j.err != nil:
			j.finalErr = j.err
		case j.stopped.Load():
			j.finalErr = ErrCancelled
		}
		j.mu.Unlock()
		j.cancel()
		close(j.done)
	}()
	return j, nil
}

// Wait blocks until every subtask has finished, the job failed or it was
// cancelled, and returns nil, the first subtask's *SubtaskError, or
// ErrCancelled. Every goroutine of the job has exited when Wait returns.
func (j *Job) Wait() error {
	<-j.done
	return j.finalErr
}

// Done is closed when the job has ended (see Wait).
func (j *Job) Done() <-chan struct{} { return j.done }

// Err returns what Wait returns once Done is closed, and nil before.
func (j *Job) Err() error {
	select {
	case <-j.done:
		return j.finalErr
	default:
		return nil
	}
}

// Fail stops the job with err (if it has not already failed): Wait then
// returns err. Use it to fail a job from outside, e.g. when its final
// checkpoint cannot complete.
func (j *Job) Fail(err error) { j.fail(err) }

// Cancel stops the job; Wait then returns ErrCancelled unless the job had
// already failed or finished. It does not wait.
func (j *Job) Cancel() { j.cancel() }

// InjectBarrier asks every running source subtask to emit barrier b between
// two batches. Source subtasks that have already ended ignore it;
// downstream subtasks do not wait for inputs that have ended.
func (j *Job) InjectBarrier(b Barrier) {
	for _, st := range j.sources {
		st.mail.post(control{kind: ctlBarrier, barrier: b})
	}
}

// NotifyCheckpointComplete tells every running subtask that checkpoint id is
// complete; each calls NotifyCheckpointComplete on its source and operators
// that implement CheckpointListener, from its own goroutine, soon after.
func (j *Job) NotifyCheckpointComplete(id int64) {
	for _, sts := range j.subtasks {
		for _, st := range sts {
			st.mail.post(control{kind: ctlComplete, id: id})
		}
	}
}

// fail records the first error of the job and stops it. Errors arriving
// once the job is stopping are consequences of the stop and are dropped.
func (j *Job) fail(err error) {
	j.mu.Lock()
	if j.err == nil && j.ctx.Err() == nil {
		j.err = err
	} else if j.err == nil {
		j.stopped.Store(true)
	}
	j.mu.Unlock()
	j.cancel()
}

func validate(g *JobGraph, maxPar int) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidGraph, fmt.Sprintf(format, args...))
	}
	if len(g.Vertices) == 0 {
		return bad("no vertices")
	}
	for vi := range g.Vertices {
		v := &g.Vertices[vi]
		if v.Parallelism < 1 || v.Parallelism > maxPar {
			return bad("vertex %q: parallelism %d not in [1, %d]", v.Name, v.Parallelism, maxPar)
		}
		if (v.Source == nil) == (len(v.Inputs) == 0) {
			return bad("vertex %q: needs either a source or inputs", v.Name)
		}
		if a := v.Alignment; a != nil && (v.Source == nil || a.Group == "" || a.MaxDrift <= 0) {
			return bad("vertex %q: watermark alignment needs a source, a group name and a positive maximum drift", v.Name)
		}
		for oi, f := range v.Ops {
			if f == nil {
				return bad("vertex %q: operator %d has no factory", v.Name, oi)
			}
		}
		for _, e := range v.Inputs {
			if e.From < 0 || e.From >= vi {
				return bad("vertex %q: input from vertex %d is not an earlier vertex", v.Name, e.From)
			}
			up := &g.Vertices[e.From]
			if e.Types != nil && up.OutTypes != nil && len(e.Types) != len(up.OutTypes) {
				return bad("vertex %q: input from %q has %d Types, %q has %d OutTypes",
					v.Name, up.Name, len(e.Types), up.Name, len(up.OutTypes))
			}
			switch e.Exchange {
			case Forward:
				if up.Parallelism != v.Parallelism {
					return bad("vertex %q: FORWARD from %q with parallelism %d != %d",
						v.Name, up.Name, up.Parallelism, v.Parallelism)
				}
			case Single:
				if v.Parallelism != 1 {
					return bad("vertex %q: SINGLE input needs parallelism 1", v.Name)
				}
			case Hash:
				if len(e.KeyCols) == 0 {
					return bad("vertex %q: HASH input without key columns", v.Name)
				}
				for _, c := range e.KeyCols {
					if c < 0 || c >= len(up.OutTypes) {
						return bad("vertex %q: HASH key column %d not among the %d OutTypes of %q",
							v.Name, c, len(up.OutTypes), up.Name)
					}
				}
			case Broadcast, Rebalance:
			default:
				return bad("vertex %q: unknown exchange %d", v.Name, e.Exchange)
			}
		}
		if mixedInputTypes(v) {
			if err := checkMultiInput(v); err != nil {
				return err
			}
		}
	}
	return nil
}

// wire creates the subtasks and the channels between them.
func (j *Job) wire() {
	g := j.graph
	j.subtasks = make([][]*subtask, len(g.Vertices))
	for vi := range g.Vertices {
		v := &g.Vertices[vi]
		sts := make([]*subtask, v.Parallelism)
		for i := range sts {
			sts[i] = newSubtask(j, vi, i)
			if v.Source != nil {
				j.sources = append(j.sources, sts[i])
			}
		}
		j.subtasks[vi] = sts
	}
	for vi := range g.Vertices {
		v := &g.Vertices[vi]
		down := j.subtasks[vi]
		for ei, e := range v.Inputs {
			up := j.subtasks[e.From]
			// chans[u][d] connects upstream subtask u to downstream d (nil
			// when they are not connected).
			for u, ust := range up {
				targets := make([]chan Message, len(down))
				for d, dst := range down {
					if !connected(e.Exchange, u, d) {
						continue
					}
					ch := make(chan Message, j.opts.ChannelCapacity)
					targets[d] = ch
					dst.inputs = append(dst.inputs, ch)
					dst.inputEdge = append(dst.inputEdge, ei)
				}
				ust.out.writers = append(ust.out.writers, newEdgeWriter(j, &e, ust, targets))
			}
		}
	}
	for _, sts := range j.subtasks {
		for _, st := range sts {
			st.sink = len(st.out.writers) == 0
		}
	}
	j.alignGroups()
}

func connected(k ExchangeKind, u, d int) bool {
	switch k {
	case Forward:
		return u == d
	case Single:
		return d == 0
	}
	return true
}
