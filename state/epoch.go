package state

import "sync/atomic"

// Epoch is the state write timestamp of one subtask: KeyedStates given the
// Epoch (SetEpoch) read at Ts and write every write-back at Ts, and count
// the bytes they write back. The runtime owns it: it creates one per
// subtask with the job's start timestamp and Sets the next timestamp after
// each checkpoint barrier. All methods are safe for concurrent use.
type Epoch struct {
	ts      atomic.Uint64
	written atomic.Int64
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
