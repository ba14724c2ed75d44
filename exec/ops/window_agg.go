package ops

import (
	"container/heap"
	"fmt"
	"log"
	"math"
	"slices"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// WindowAggSpec is the plan of a WindowAgg.
type WindowAggSpec struct {
	Window WindowSpec
	// KeyCols are the group columns besides the window (GROUP BY
	// window_start, window_end, KeyCols...); SESSION windows are per key.
	KeyCols []int
	// Calls are the aggregates computed per key and window. They are
	// compiled insert-only (see GroupAggSpec.InsertOnly).
	Calls []AggCall
	// InTypes are the input column types.
	InTypes []types.Type
	// CacheEntries bounds the panes kept in memory by durable keyed state
	// (0: DefaultAggCacheEntries).
	CacheEntries int
}

// WindowAgg is Flink's window aggregation over a window TVF: GROUP BY
// window_start, window_end[, keys]. Its output row is the key columns (in
// KeyCols order), window_start, window_end, window_time (TIMESTAMP(3)) and
// one column per call.
//
// Input: append-only rows (+I; anything else fails). Rows with a NULL
// time are dropped. Rows are accumulated per key into panes rather than
// copied into every window: a TUMBLE window is one pane, a HOP window
// size/gcd(size, slide) panes, a CUMULATE window the step panes of its
// cycle so far. SESSION windows are kept per key and merge when a row
// bridges them (windows that touch merge, as in Flink).
//
// Output: final rows only, append-only (+I). A window fires when the
// watermark reaches window_end - 1 µs (ProcessWatermark), and at end of
// input (Finish, as a MAX watermark would); windows fire in order of their
// end, keys in the order of their encoded key. A pane's state is dropped
// when the last window containing it has fired; a session's when it fires.
//
// Late rows: a row whose first window has already fired (for a session,
// whose own [t, t+gap) window ends at or before the watermark) is dropped
// and counted: LateRows returns the count, and Close logs it when it is not
// zero ("window aggregate ...: dropped N late rows").
//
// State: with a state backend, panes and sessions live in keyed state
// under exec.StateNamespace (see window_state.go), in the key group of
// their key columns (as the Hash exchange routes them); Snapshot flushes
// it. Timers are rebuilt from it in Open, so a restored operator fires
// what was open at the checkpoint and nothing twice. Without a backend
// state lives in memory.
type WindowAgg struct {
	Spec WindowAggSpec

	calls    []callPlan
	keyTypes []types.Type
	outTypes []types.Type
	store    winStore
	maxPar   int
	tc       *exec.TaskContext
	compiled bool
	closed   bool

	wm   int64
	late int64

	// Timers: window end → keys with a window ending there (kg ‖ group
	// key), and a heap of the ends.
	timers map[int64]map[string]struct{}
	ends   endHeap
	// sessions: kg ‖ group key → its open sessions, by start.
	sessions map[string][]sessionSpan

	kbuf   []byte
	hashes []uint64
	outBuf *types.Batch
	row    []types.Datum
}

type sessionSpan struct{ start, end int64 }

// NewWindowAgg checks spec and returns a WindowAgg for it.
func NewWindowAgg(spec WindowAggSpec) (*WindowAgg, error) {
	w := &WindowAgg{Spec: spec}
	return w, w.compile()
}

// WindowAggFactory returns a factory of WindowAggs; it fails when spec is
// invalid (ErrWindowSpec, ErrAggSpec).
func WindowAggFactory(spec WindowAggSpec) exec.OperatorFactory {
	return func(int) (exec.Operator, error) { return NewWindowAgg(spec) }
}

func (w *WindowAgg) compile() error {
	if w.compiled {
		return nil
	}
	spec := &w.Spec
	if err := spec.Window.Validate(spec.InTypes); err != nil {
		return err
	}
	w.keyTypes, w.outTypes, w.calls = nil, nil, nil
	for _, c := range spec.KeyCols {
		if c < 0 || c >= len(spec.InTypes) {
			return fmt.Errorf("%w: key column %d of a %d-column input", ErrWindowSpec, c, len(spec.InTypes))
		}
		w.keyTypes = append(w.keyTypes, spec.InTypes[c])
	}
	w.outTypes = append(slices.Clone(w.keyTypes), WindowTimeType, WindowTimeType, WindowTimeType)
	for _, c := range spec.Calls {
		p, err := compileCall(c, spec.InTypes, true)
		if err != nil {
			return err
		}
		w.calls = append(w.calls, p)
		w.outTypes = append(w.outTypes, c.OutType)
	}
	if w.maxPar == 0 {
		w.maxPar = state.DefaultMaxParallelism
	}
	w.wm = math.MinInt64
	w.timers = map[int64]map[string]struct{}{}
	w.sessions = map[string][]sessionSpan{}
	w.compiled = true
	return nil
}

// OutTypes returns the output column types (nil when Spec is invalid).
func (w *WindowAgg) OutTypes() []types.Type {
	if w.compile() != nil {
		return nil
	}
	return w.outTypes
}

// LateRows returns the number of late rows dropped so far.
func (w *WindowAgg) LateRows() int64 { return w.late }

// Watermark returns the last watermark processed (math.MinInt64 before
// the first).
func (w *WindowAgg) Watermark() int64 { return w.wm }

// Open implements exec.Opener: it chooses the state store and rebuilds the
// timers of the subtask's key groups from it.
func (w *WindowAgg) Open(tc *exec.TaskContext) error {
	if err := w.compile(); err != nil {
		return err
	}
	w.tc = tc
	if tc.MaxParallelism > 0 {
		w.maxPar = tc.MaxParallelism
	}
	cache := w.Spec.CacheEntries
	if cache <= 0 {
		cache = DefaultAggCacheEntries
	}
	w.store = newWinStore(tc, w.calls, cache)
	if tc.State == nil {
		return nil
	}
	first, last := exec.KeyGroupRange(tc.Subtask, max(tc.Parallelism, 1), w.maxPar)
	err := w.store.scan(first, last, func(kg int, key []byte, e *winEntry) error {
		gk, start, err := splitStart(key)
		if err != nil {
			return err
		}
		w.restore(kg, gk, start, e)
		return nil
	})
	if err != nil {
		return fmt.Errorf("window aggregate: restore timers: %w", err)
	}
	return nil
}

// restore re-registers the timers of one stored pane or session.
func (w *WindowAgg) restore(kg int, gk []byte, start int64, e *winEntry) {
	id := string(append([]byte{byte(kg >> 8), byte(kg)}, gk...))
	if w.Spec.Window.Kind == WindowSession {
		w.sessions[id] = insertSpan(w.sessions[id], sessionSpan{start, e.end})
		w.addTimer(e.end, id)
		return
	}
	w.Spec.Window.windowEnds(start, func(end int64) {
		if end > e.fired {
			w.addTimer(end, id)
		}
	})
}

func insertSpan(spans []sessionSpan, s sessionSpan) []sessionSpan {
	k, _ := slices.BinarySearchFunc(spans, s.start, func(a sessionSpan, t int64) int {
		switch {
		case a.start < t:
			return -1
		case a.start > t:
			return 1
		}
		return 0
	})
	return slices.Insert(spans, k, s)
}

func (w *WindowAgg) addTimer(end int64, id string) {
	set := w.timers[end]
	if set == nil {
		set = map[string]struct{}{}
		w.timers[end] = set
		heap.Push(&w.ends, end)
	}
	set[id] = struct{}{}
}

// Process implements exec.Operator.
func (w *WindowAgg) Process(b *types.Batch, out exec.Collector) error {
	defer b.Release()
	if w.closed {
		return errClosed
	}
	if err := w.compile(); err != nil {
		return err
	}
	if w.store == nil {
		w.store = newWinStore(nil, w.calls, 0)
	}
	if len(b.Cols) != len(w.Spec.InTypes) {
		return fmt.Errorf("window aggregate: %d-column batch, want %d", len(b.Cols), len(w.Spec.InTypes))
	}
	n := b.Len()
	if len(w.Spec.KeyCols) == 0 {
		w.hashes = growU64(w.hashes, n)
		h := exec.HashDatums(nil)
		for i := range w.hashes {
			w.hashes[i] = h
		}
	} else {
		w.hashes = exec.HashColumns(b, w.Spec.KeyCols, w.hashes)
	}
	tcol := &b.Cols[w.Spec.Window.TimeCol]
	for i := range n {
		if b.Ops[i] != types.Insert {
			return fmt.Errorf("window aggregate: a %v row: window aggregation takes append-only input", b.Ops[i])
		}
		if tcol.IsNull(i) {
			continue
		}
		kg := exec.KeyGroup(w.hashes[i], w.maxPar)
		w.kbuf = append(w.kbuf[:0], byte(kg>>8), byte(kg))
		w.kbuf = state.EncodeKeyColumns(w.kbuf, b, w.Spec.KeyCols, i)
		var err error
		if w.Spec.Window.Kind == WindowSession {
			err = w.addSession(kg, b, i, tcol.I64[i])
		} else {
			err = w.addPane(kg, b, i, tcol.I64[i])
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// addPane adds row i (time ts) to its pane; w.kbuf holds kg ‖ group key.
func (w *WindowAgg) addPane(kg int, b *types.Batch, i int, ts int64) error {
	win := &w.Spec.Window
	ps := win.paneOf(ts)
	first, last := win.firstEnd(ps), win.lastEnd(ps)
	if first > last {
		return nil // in a gap between HOP windows (slide > size)
	}
	if first-1 <= w.wm {
		w.late++
		return nil
	}
	idLen := len(w.kbuf)
	w.kbuf = appendStart(w.kbuf, ps)
	key := w.kbuf[2:]
	e, err := w.store.get(kg, key)
	if err != nil {
		return fmt.Errorf("window aggregate: read state: %w", err)
	}
	if e == nil {
		e = &winEntry{end: ps + win.pane(), fired: math.MinInt64, rec: newWindowRecord(w.calls)}
		id := string(w.kbuf[:idLen])
		win.windowEnds(ps, func(end int64) { w.addTimer(end, id) })
	}
	if err := addRow(w.calls, e.rec, b, i); err != nil {
		return err
	}
	if err := w.store.put(kg, key, e); err != nil {
		return fmt.Errorf("window aggregate: write state: %w", err)
	}
	return nil
}

// addSession adds row i (time ts) to its key's sessions, merging those
// its window [ts, ts+gap) touches; w.kbuf holds kg ‖ group key.
func (w *WindowAgg) addSession(kg int, b *types.Batch, i int, ts int64) error {
	gap := w.Spec.Window.Gap
	if ts+gap-1 <= w.wm {
		w.late++
		return nil
	}
	id := string(w.kbuf)
	gk := w.kbuf[2:]
	spans := w.sessions[id]
	merged := sessionSpan{ts, ts + gap}
	var absorbed []sessionSpan
	kept := spans[:0:0]
	for _, s := range spans {
		if s.start <= merged.end && merged.start <= s.end {
			absorbed = append(absorbed, s)
			continue
		}
		kept = append(kept, s)
	}
	// Absorbing a session may extend the merged span into another one.
	for changed := true; changed; {
		changed = false
		for _, s := range absorbed {
			merged.start, merged.end = min(merged.start, s.start), max(merged.end, s.end)
		}
		rest := kept[:0]
		for _, s := range kept {
			if s.start <= merged.end && merged.start <= s.end {
				absorbed = append(absorbed, s)
				changed = true
				continue
			}
			rest = append(rest, s)
		}
		kept = rest
	}
	rec := newWindowRecord(w.calls)
	key := func(start int64) []byte { return appendStart(slices.Clone(gk), start) }
	for _, s := range absorbed {
		e, err := w.store.get(kg, key(s.start))
		if err != nil {
			return fmt.Errorf("window aggregate: read state: %w", err)
		}
		if e == nil {
			return fmt.Errorf("window aggregate: session [%d, %d) has no state: %w", s.start, s.end, state.ErrCorrupt)
		}
		if err := mergeRecord(w.calls, rec, e.rec); err != nil {
			return err
		}
		if s.start != merged.start {
			if err := w.store.del(kg, key(s.start)); err != nil {
				return fmt.Errorf("window aggregate: delete state: %w", err)
			}
		}
	}
	if err := addRow(w.calls, rec, b, i); err != nil {
		return err
	}
	if err := w.store.put(kg, key(merged.start), &winEntry{end: merged.end, fired: math.MinInt64, rec: rec}); err != nil {
		return fmt.Errorf("window aggregate: write state: %w", err)
	}
	w.sessions[id] = insertSpan(kept, merged)
	w.addTimer(merged.end, id)
	return nil
}

// ProcessWatermark implements exec.WatermarkHandler: it fires every window
// whose end - 1 µs is at or below wm and forwards wm.
func (w *WindowAgg) ProcessWatermark(wm int64, out exec.Collector) (int64, error) {
	if w.closed {
		return wm, errClosed
	}
	if err := w.compile(); err != nil {
		return wm, err
	}
	if wm > w.wm {
		w.wm = wm
	}
	return wm, w.fire(out)
}

// Finish implements exec.Finisher: at end of input every open window
// fires, as if the watermark had reached its maximum.
func (w *WindowAgg) Finish(out exec.Collector) error {
	if w.closed {
		return errClosed
	}
	if err := w.compile(); err != nil {
		return err
	}
	w.wm = math.MaxInt64
	return w.fire(out)
}

// fire emits the windows due at w.wm.
func (w *WindowAgg) fire(out exec.Collector) error {
	if w.store == nil {
		w.store = newWinStore(nil, w.calls, 0)
	}
	for len(w.ends) > 0 && w.ends[0]-1 <= w.wm {
		end := heap.Pop(&w.ends).(int64)
		set := w.timers[end]
		delete(w.timers, end)
		ids := make([]string, 0, len(set))
		for id := range set {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			var err error
			if w.Spec.Window.Kind == WindowSession {
				err = w.fireSession(end, id)
			} else {
				err = w.firePanes(end, id)
			}
			if err != nil {
				return err
			}
			if w.outBuf != nil && w.outBuf.Len() >= types.DefaultBatchSize {
				if err := w.flushOut(out); err != nil {
					return err
				}
			}
		}
	}
	return w.flushOut(out)
}

// firePanes emits the window ending at end for key id (kg ‖ group key),
// merged from its panes, and drops the panes it was the last window of.
func (w *WindowAgg) firePanes(end int64, id string) error {
	win := &w.Spec.Window
	kg := int(id[0])<<8 | int(id[1])
	gk := []byte(id[2:])
	var acc *accRecord
	var err error
	start := win.windowPanes(end, func(ps int64) {
		if err != nil {
			return
		}
		key := appendStart(slices.Clone(gk), ps)
		var e *winEntry
		if e, err = w.store.get(kg, key); err != nil || e == nil {
			return
		}
		if acc == nil {
			acc = newWindowRecord(w.calls)
		}
		if err = mergeRecord(w.calls, acc, e.rec); err != nil {
			return
		}
		if win.lastEnd(ps) <= end {
			err = w.store.del(kg, key)
		} else {
			e.fired = end
			err = w.store.put(kg, key, e)
		}
	})
	if err != nil {
		return fmt.Errorf("window aggregate: fire window ending %s: %w", types.FormatTimestamp(end, 6), err)
	}
	if acc == nil {
		return nil
	}
	return w.emit(gk, start, end, acc)
}

// fireSession emits the session of key id ending at end, if it still
// exists (a merged session moved its end).
func (w *WindowAgg) fireSession(end int64, id string) error {
	spans := w.sessions[id]
	k := slices.IndexFunc(spans, func(s sessionSpan) bool { return s.end == end })
	if k < 0 {
		return nil
	}
	s := spans[k]
	if spans = slices.Delete(spans, k, k+1); len(spans) == 0 {
		delete(w.sessions, id)
	} else {
		w.sessions[id] = spans
	}
	kg := int(id[0])<<8 | int(id[1])
	gk := []byte(id[2:])
	key := appendStart(slices.Clone(gk), s.start)
	e, err := w.store.get(kg, key)
	if err == nil && e == nil {
		err = fmt.Errorf("session [%d, %d) has no state: %w", s.start, s.end, state.ErrCorrupt)
	}
	if err == nil {
		err = w.store.del(kg, key)
	}
	if err != nil {
		return fmt.Errorf("window aggregate: fire session: %w", err)
	}
	return w.emit(gk, s.start, s.end, e.rec)
}

// emit appends the row of one window to the output buffer.
func (w *WindowAgg) emit(gk []byte, start, end int64, acc *accRecord) error {
	row, rest, err := state.DecodeKey(gk, w.keyTypes, w.row[:0])
	if err == nil && len(rest) != 0 {
		err = fmt.Errorf("%d trailing key bytes: %w", len(rest), state.ErrCorrupt)
	}
	if err != nil {
		return fmt.Errorf("window aggregate: decode key: %w", err)
	}
	row = append(row,
		types.Datum{Type: WindowTimeType, I: start},
		types.Datum{Type: WindowTimeType, I: end},
		types.Datum{Type: WindowTimeType, I: end - MicrosPerMilli})
	for c := range w.calls {
		d, err := w.calls[c].resultDatum(&acc.vals[c])
		if err != nil {
			return err
		}
		row = append(row, d)
	}
	w.row = row
	if w.outBuf == nil {
		w.outBuf = types.NewBatch(w.outTypes)
	}
	w.outBuf.AppendRow(types.Insert, row)
	return nil
}

func (w *WindowAgg) flushOut(out exec.Collector) error {
	if w.outBuf == nil || w.outBuf.Len() == 0 {
		return nil
	}
	b := w.outBuf
	w.outBuf = nil
	return out.Collect(b)
}

// Snapshot implements exec.Snapshotter: it flushes the window state (all
// of it is keyed state; no other bytes).
func (w *WindowAgg) Snapshot(id int64) ([]byte, error) {
	if w.store == nil {
		return nil, nil
	}
	if err := w.store.flush(); err != nil {
		return nil, fmt.Errorf("window aggregate: snapshot %d: %w", id, err)
	}
	return nil, nil
}

var (
	_ exec.Snapshotter      = (*WindowAgg)(nil)
	_ exec.WatermarkHandler = (*WindowAgg)(nil)
	_ exec.Finisher         = (*WindowAgg)(nil)
)

// Close implements exec.Closer. It keeps the durable state, logs the late
// rows dropped, and is idempotent.
func (w *WindowAgg) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if w.late > 0 {
		where := ""
		if w.tc != nil {
			where = fmt.Sprintf(" (job %q, vertex %d, subtask %d)", w.tc.JobID, w.tc.VertexID, w.tc.Subtask)
		}
		log.Printf("window aggregate %s%s: dropped %d late rows", w.Spec.Window.String(), where, w.late)
	}
	w.store, w.timers, w.sessions, w.ends = nil, nil, nil, nil
	w.outBuf.Release()
	w.outBuf = nil
	return nil
}

// endHeap is a min-heap of window ends.
type endHeap []int64

func (h endHeap) Len() int           { return len(h) }
func (h endHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h endHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *endHeap) Push(x any)        { *h = append(*h, x.(int64)) }
func (h *endHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
