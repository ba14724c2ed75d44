package state

import (
	"sync"
	"sync/atomic"
)

// Epoch is the state write timestamp of one subtask: KeyedStates given the
// Epoch (SetEpoch) read at Ts and write every write-back at Ts, and count
// the bytes they write back. The runtime owns it: it creates one per
// subtask with the job's start timestamp and Sets the next timestamp after
// each checkpoint barrier. All methods are safe for concurrent use.
type Epoch struct {
	ts      atomic.Uint64
	written atomic.Int64
	async   atomic.Bool

	mu      sync.Mutex
	pending []<-chan error // background write-backs not yet taken
}

// NewEpoch returns an Epoch at timestamp ts (from Store.NextTs or
// Store.RestoreNamespace; 0 is not a valid write timestamp).
func NewEpoch(ts uint64) *Epoch {
	e := &Epoch{}
	e.ts.Store(ts)
	return e
}

// Ts returns the current write (and read) timestamp.
func (e *Epoch) Ts() uint64 { return e.ts.Load() }

// Set moves the Epoch to ts. Timestamps must only grow: ts must be above
// every timestamp the Epoch had, and the caller must have flushed the
// KeyedStates using it (what is written at the old timestamp is the
// checkpoint).
func (e *Epoch) Set(ts uint64) { e.ts.Store(ts) }

// AddWritten adds n bytes (keys and values) written back to Badger.
func (e *Epoch) AddWritten(n int64) { e.written.Add(n) }

// TakeWritten returns the bytes written back since the previous call and
// resets the count: the incremental size of a checkpoint.
func (e *Epoch) TakeWritten() int64 { return e.written.Swap(0) }

// Asynchronous write-back at checkpoints.
//
// With SetAsync(true) (the runtime turns it on for jobs that checkpoint),
// KeyedState.Flush encodes the dirty entries, marks them clean and writes
// them to Badger from a background goroutine at the Epoch's timestamp of
// the moment, registering the write with the Epoch; it returns at once.
// The runtime then moves the Epoch on and lets the subtask go on
// processing, and acknowledges the checkpoint only once TakePending's wait
// returns: what a checkpoint covers is in Badger when it is acknowledged,
// and the subtask does not stall while it is written (Flink's
// asynchronous snapshot phase).

// SetAsync turns asynchronous write-back at Flush on or off.
func (e *Epoch) SetAsync(on bool) { e.async.Store(on) }

// Async reports whether Flush writes back asynchronously.
func (e *Epoch) Async() bool { return e.async.Load() }

// track registers a background write that ends by sending its result on
// done.
func (e *Epoch) track(done <-chan error) {
	e.mu.Lock()
	e.pending = append(e.pending, done)
	e.mu.Unlock()
}

// TakePending returns a function that waits for every background write
// registered since the previous call and returns the first error, or nil
// when there is none to wait for.
func (e *Epoch) TakePending() func() error {
	e.mu.Lock()
	pending := e.pending
	e.pending = nil
	e.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	return func() error {
		var first error
		for _, done := range pending {
			if err := <-done; err != nil && first == nil {
				first = err
			}
		}
		return first
	}
}
