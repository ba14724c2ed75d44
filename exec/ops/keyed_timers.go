package ops

import (
	"container/heap"
	"encoding/binary"
	"fmt"
	"log"
	"math"
	"slices"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// This file holds what the keyed operators that buffer rows until the
// watermark reaches a time share (WindowJoin, WindowTopN, IntervalJoin):
// their store of entries by key group and key (kvStore), the in-memory
// timers keyed by entry that are rebuilt from that store in Open
// (keyTimers), the pending output batch, and the padding of the rows of
// an outer join side.

// kvStore holds values by key group and key, either in memory or in keyed
// state. Values returned by get may be modified in place; put must follow
// for the change to be kept.
type kvStore[V any] interface {
	get(kg int, key []byte) (V, bool, error)
	put(kg int, key []byte, v V) error
	del(kg int, key []byte) error
	// flush makes every put and del durable (a checkpoint).
	flush() error
	// scan calls fn for every entry of the key groups first..last.
	scan(first, last int, fn func(kg int, key []byte, v V) error) error
}

// memKV is a kvStore in memory.
type memKV[V any] struct{ m map[string]V }

func newMemKV[V any]() *memKV[V] { return &memKV[V]{m: map[string]V{}} }

func (s *memKV[V]) get(kg int, key []byte) (V, bool, error) {
	v, ok := s.m[kgKeyID(kg, key)]
	return v, ok, nil
}

func (s *memKV[V]) put(kg int, key []byte, v V) error {
	s.m[kgKeyID(kg, key)] = v
	return nil
}

func (s *memKV[V]) del(kg int, key []byte) error {
	delete(s.m, kgKeyID(kg, key))
	return nil
}

func (s *memKV[V]) flush() error { return nil }

func (s *memKV[V]) scan(first, last int, fn func(int, []byte, V) error) error {
	keys := make([]string, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		kg, key := splitKgKeyID(k)
		if kg < first || kg > last {
			continue
		}
		if err := fn(kg, key, s.m[k]); err != nil {
			return err
		}
	}
	return nil
}

// keyedKV is a kvStore in a state.KeyedState.
type keyedKV[V any] struct{ ks *state.KeyedState[V] }

func (s keyedKV[V]) get(kg int, key []byte) (V, bool, error) { return s.ks.Get(kg, key) }
func (s keyedKV[V]) put(kg int, key []byte, v V) error       { return s.ks.Put(kg, key, v) }
func (s keyedKV[V]) del(kg int, key []byte) error            { return s.ks.Delete(kg, key) }
func (s keyedKV[V]) flush() error                            { return s.ks.Flush() }

func (s keyedKV[V]) scan(first, last int, fn func(int, []byte, V) error) error {
	return s.ks.ScanKeyGroups(first, last, fn)
}

// keyGroupsOf returns the number of key groups of the job of tc (its
// MaxParallelism; state.DefaultMaxParallelism when tc is nil or does not
// set it).
func keyGroupsOf(tc *exec.TaskContext) int {
	if tc != nil && tc.MaxParallelism > 0 {
		return tc.MaxParallelism
	}
	return state.DefaultMaxParallelism
}

// openKV returns an operator's store: in memory when tc is nil or has no
// state store, else keyed state of tc.State under exec.StateNamespace(tc)
// followed by suffix, encoded by codec, keeping cache entries decoded (def
// when cache <= 0) and versioned by tc.Epoch when it is set.
func openKV[V any](tc *exec.TaskContext, suffix []byte, codec state.Codec[V], cache, def int) kvStore[V] {
	if tc == nil || tc.State == nil {
		return newMemKV[V]()
	}
	if cache <= 0 {
		cache = def
	}
	ns := exec.StateNamespace(tc)
	ns = append(ns[:len(ns):len(ns)], suffix...)
	ks := state.NewKeyedState[V](tc.State, ns, codec, cache)
	if tc.Epoch != nil {
		ks.SetEpoch(tc.Epoch) // versioned by checkpoint
	}
	return keyedKV[V]{ks}
}

// scanSubtask calls fn for every entry of store in the key groups of tc's
// subtask (out of maxPar), as Open does to rebuild timers. It does nothing
// when tc is nil or has no state store: a store in memory starts empty.
func scanSubtask[V any](tc *exec.TaskContext, maxPar int, store kvStore[V], fn func(kg int, key []byte, v V) error) error {
	if tc == nil || tc.State == nil {
		return nil
	}
	first, last := exec.KeyGroupRange(tc.Subtask, max(tc.Parallelism, 1), maxPar)
	return store.scan(first, last, fn)
}

// countKV returns the number of entries of store in every key group (for
// the StateKeys of tests).
func countKV[V any](store kvStore[V]) (int, error) {
	n := 0
	err := store.scan(0, state.MaxKeyGroups-1, func(int, []byte, V) error {
		n++
		return nil
	})
	return n, err
}

// checkpointKV flushes store for checkpoint id; what names the operator
// (and the store) in the error.
func checkpointKV[V any](store kvStore[V], what string, id int64) error {
	if err := store.flush(); err != nil {
		return fmt.Errorf("%s: checkpoint %d: %w", what, id, err)
	}
	return nil
}

// kgKeyID is the timer id of a key: kg (2 bytes) ‖ key.
func kgKeyID(kg int, key []byte) string {
	return string(append([]byte{byte(kg >> 8), byte(kg)}, key...))
}

// splitKgKeyID returns the key group and key of an id kgKeyID made (the
// key is a copy).
func splitKgKeyID(id string) (kg int, key []byte) {
	return int(id[0])<<8 | int(id[1]), []byte(id[2:])
}

// keyTimers are event-time timers by id (an entry of a kvStore): a timer
// at time t is due once the watermark reaches t - lead. An id has at most
// one timer per time. The zero value is not usable: see newKeyTimers.
type keyTimers struct {
	lead  int64
	ids   map[int64]map[string]struct{} // time → ids
	times endHeap                       // the keys of ids
}

// newKeyTimers returns empty timers that fire lead before their time.
func newKeyTimers(lead int64) keyTimers {
	return keyTimers{lead: lead, ids: map[int64]map[string]struct{}{}}
}

// add sets a timer of id at time t (once, however often it is added).
func (k *keyTimers) add(t int64, id string) {
	set := k.ids[t]
	if set == nil {
		set = map[string]struct{}{}
		k.ids[t] = set
		heap.Push(&k.times, t)
	}
	set[id] = struct{}{}
}

// fire removes the timers due at watermark wm and calls fn with their
// ids, in order of time and then of id. fn appends to o, which fire
// flushes to out whenever it holds a full batch, and at the end.
func (k *keyTimers) fire(wm int64, o *pendingOut, out exec.Collector, fn func(id string) error) error {
	for len(k.times) > 0 && k.times[0]-k.lead <= wm {
		t := heap.Pop(&k.times).(int64)
		set := k.ids[t]
		delete(k.ids, t)
		ids := make([]string, 0, len(set))
		for id := range set {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			if err := fn(id); err != nil {
				return err
			}
			if o.full() {
				if err := o.flush(out); err != nil {
					return err
				}
			}
		}
	}
	return o.flush(out)
}

// drop forgets every timer (on Close).
func (k *keyTimers) drop() { k.ids, k.times = nil, nil }

// pendingOut is the output batch an operator is filling, of types.
type pendingOut struct {
	types []types.Type
	b     *types.Batch
}

// batch returns the batch being filled, new when there is none.
func (p *pendingOut) batch() *types.Batch {
	if p.b == nil {
		p.b = types.NewBatch(p.types)
	}
	return p.b
}

// full reports whether the batch holds types.DefaultBatchSize rows or more.
func (p *pendingOut) full() bool { return p.b != nil && p.b.Len() >= types.DefaultBatchSize }

// flush passes a non-empty batch on to out (which takes it).
func (p *pendingOut) flush(out exec.Collector) error {
	if p.b == nil || p.b.Len() == 0 {
		return nil
	}
	b := p.b
	p.b = nil
	return out.Collect(b)
}

// release drops the batch (on Close).
func (p *pendingOut) release() {
	p.b.Release()
	p.b = nil
}

// appendPadded appends row of a join side (0: left, 1: right; the left
// side has nLeft columns) with NULLs for the other side's columns.
func (p *pendingOut) appendPadded(nLeft, side int, row []types.Datum) {
	full := make([]types.Datum, len(p.types))
	off := 0
	if side == 1 {
		off = nLeft
	}
	for c, t := range p.types {
		if c >= off && c < off+len(row) {
			full[c] = row[c-off]
			full[c].Type = t
		} else {
			full[c] = types.NullDatum(t)
		}
	}
	p.batch().AppendRow(types.Insert, full)
}

// validateTimedJoin checks the spec js of a join (kind: "a window join")
// whose sides carry time columns cols (named col in errors: "window end"):
// INNER, LEFT, RIGHT or FULL, a valid JoinSpec, and each time column a
// TIMESTAMP or TIMESTAMP_LTZ of its side.
func validateTimedJoin(js JoinSpec, kind, col string, cols [2]int) error {
	if js.Type > FullJoin {
		return fmt.Errorf("%w: %s is INNER, LEFT, RIGHT or FULL, not %v", ErrJoinSpec, kind, js.Type)
	}
	if err := js.Validate(); err != nil {
		return err
	}
	for side, ts := range [2][]types.Type{js.LeftTypes, js.RightTypes} {
		c := cols[side]
		if c < 0 || c >= len(ts) {
			return fmt.Errorf("%w: %s %s column %d of %d", ErrJoinSpec, joinSideName(side), col, c, len(ts))
		}
		if k := ts[c].Kind; k != types.KindTimestamp && k != types.KindTimestampLTZ {
			return fmt.Errorf("%w: %s %s column %d is %v, not a TIMESTAMP", ErrJoinSpec, joinSideName(side), col, c, ts[c])
		}
	}
	return nil
}

// joinOuter reports whether side (0: left, 1: right) is an outer side of
// a join of type t: its rows that join nothing are emitted padded.
func joinOuter(t JoinType, side int) bool {
	return t == FullJoin || (side == 0 && t == LeftJoin) || (side == 1 && t == RightJoin)
}

// logLateRows logs the late rows an operator (what) of tc dropped, when
// there are any.
func logLateRows(what string, tc *exec.TaskContext, n int64) {
	if n > 0 {
		log.Printf("%s%s: dropped %d late rows", what, taskWhere(tc), n)
	}
}

// taskWhere names the subtask of tc for log lines ("" without one).
func taskWhere(tc *exec.TaskContext) string {
	if tc == nil {
		return ""
	}
	return fmt.Sprintf(" (job %q, vertex %d, subtask %d)", tc.JobID, tc.VertexID, tc.Subtask)
}

// windowEntry is the state of one window and key of a window operator.
type windowEntry interface {
	// windowEnd returns the window's end (window_end).
	windowEnd() int64
}

// windowCore is what the window operators (WindowJoin, WindowTopN) share:
// entries by key group and key, each with a timer at its window end that
// fires once the watermark reaches window_end - 1 µs, the count of late
// rows, and the pending output. The operator embeds it, calls init from
// its own start and restoreTimers from Open, and passes its firing of one
// entry to advance.
type windowCore[V windowEntry] struct {
	what    string // names the operator in errors and logs
	tc      *exec.TaskContext
	maxPar  int
	started bool
	closed  bool
	wm      int64
	late    int64
	timers  keyTimers // at window end, of kg ‖ key
	store   kvStore[V]
	hashes  []uint64
	kbuf    []byte
	out     pendingOut
}

// init sets the core up for tc (nil: no task, state in memory) with the
// operator's output types and store, and marks the operator started.
func (c *windowCore[V]) init(what string, tc *exec.TaskContext, outTypes []types.Type, store kvStore[V]) {
	c.what = what
	c.tc = tc
	c.maxPar = keyGroupsOf(tc)
	c.wm = math.MinInt64
	c.timers = newKeyTimers(1) // a window fires at window_end - 1 µs
	c.store = store
	c.out = pendingOut{types: outTypes}
	c.started = true
}

// restoreTimers sets the timers of the entries of tc's subtask in a state
// store (Open, after init).
func (c *windowCore[V]) restoreTimers(tc *exec.TaskContext) error {
	err := scanSubtask(tc, c.maxPar, c.store, func(kg int, key []byte, e V) error {
		c.timers.add(e.windowEnd(), kgKeyID(kg, key))
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: restore timers: %w", c.what, err)
	}
	return nil
}

// usable fails once the operator is closed.
func (c *windowCore[V]) usable() error {
	if c.closed {
		return fmt.Errorf("%s: operator closed", c.what)
	}
	return nil
}

// isLate reports whether a window ending at end has fired already.
func (c *windowCore[V]) isLate(end int64) bool { return end-1 <= c.wm }

// advance raises the watermark to wm (math.MaxInt64: every window) and
// calls fire with the id (kg ‖ key) of every entry whose window is then
// complete, flushing the output to out.
func (c *windowCore[V]) advance(wm int64, out exec.Collector, fire func(id string) error) error {
	if wm > c.wm {
		c.wm = wm
	}
	return c.timers.fire(c.wm, &c.out, out, fire)
}

// LateRows returns the number of late rows dropped so far.
func (c *windowCore[V]) LateRows() int64 { return c.late }

// StateKeys returns the number of (window, key) entries in state (for
// tests).
func (c *windowCore[V]) StateKeys() (int, error) {
	if !c.started {
		return 0, nil
	}
	return countKV(c.store)
}

// Snapshot implements exec.Snapshotter: it flushes the keyed state.
func (c *windowCore[V]) Snapshot(id int64) ([]byte, error) {
	if !c.started {
		return nil, nil
	}
	return nil, checkpointKV(c.store, c.what, id)
}

// close marks the operator closed, logs the late rows dropped and drops
// the output and the timers; the durable state stays. It reports whether
// the operator was open (Close is idempotent).
func (c *windowCore[V]) close() bool {
	if c.closed {
		return false
	}
	c.closed = true
	logLateRows(c.what, c.tc, c.late)
	c.out.release()
	c.timers.drop()
	return true
}

// appendWindowEntryHead appends the head of an encoded window entry:
// format version, then varint window end.
func appendWindowEntryHead(dst []byte, version byte, end int64) []byte {
	return binary.AppendVarint(append(dst, version), end)
}

// readWindowEntryHead reads what appendWindowEntryHead wrote, wanting
// version, and returns the window end and the bytes after it; what names
// the state in errors.
func readWindowEntryHead(b []byte, version byte, what string) (end int64, rest []byte, err error) {
	if len(b) == 0 || b[0] != version {
		return 0, nil, fmt.Errorf("%s: bad format version: %w", what, state.ErrCorrupt)
	}
	end, n := binary.Varint(b[1:])
	if n <= 0 {
		return 0, nil, fmt.Errorf("%s: bad window end: %w", what, state.ErrCorrupt)
	}
	return end, b[1+n:], nil
}
