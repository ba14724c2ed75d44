package state

import "sync/atomic"

// Epoch is the state write timestamp of one subtask: KeyedStates given an
// Epoch (KeyedState.SetEpoch) read at Ts and write back at Ts. The runtime
// advances it after each checkpoint barrier's snapshot to the next epoch's
// timestamp. It also counts the bytes written back since the last
// TakeWritten (a checkpoint's incremental state size).
//
// An Epoch is safe for concurrent use.
type Epoch struct {
	ts      atomic.Uint64
	written atomic.Int64
}

// NewEpoch returns an Epoch at ts.
func NewEpoch(ts uint64) *Epoch {
	e := &Epoch{}
	e.ts.Store(ts)
	return e
}

// Ts returns the current write timestamp.
func (e *Epoch) Ts() uint64 { return e.ts.Load() }

// Set moves the epoch to ts.
func (e *Epoch) Set(ts uint64) { e.ts.Store(ts) }

// AddWritten records n bytes written back.
func (e *Epoch) AddWritten(n int64) { e.written.Add(n) }

// TakeWritten returns the bytes written back since the last call and
// resets the count.
func (e *Epoch) TakeWritten() int64 { return e.written.Swap(0) }
