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
	// CacheEntries bounds the group keys (with all their panes) or the
	// sessions kept in memory by durable keyed state (0:
	// DefaultAggCacheEntries).
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
// input (Finish, as a MAX watermark would). The windows due at one
// watermark come out window after window, in increasing order of end, each
// window's rows in the order of the encoded key (after its key group);
// when very many are due at once, in runs of that order, each covering
// the next keys (see window_fire.go). Either way a key's windows come out
// in increasing order of end. Sessions due at one watermark come out key
// by key, each key's in increasing order of end. A pane's state is
// dropped when the last window containing it has fired; a session's when
// it fires.
//
// Late rows: a row whose first window has already fired (for a session,
// whose own [t, t+gap) window ends at or before the watermark) is dropped
// and counted: LateRows returns the count, and Close logs it when it is not
// zero ("window aggregate ...: dropped N late rows").
//
// State: with a state backend, the panes of each key (one entry per key)
// and sessions live in keyed state under exec.StateNamespace (see
// window_state.go), in the key group of their key columns (as the Hash
// exchange routes them); Snapshot flushes it. Timers are rebuilt from it
// in Open, so a restored operator fires what was open at the checkpoint
// and nothing twice; a row for a key whose window containing it fired
// before the checkpoint is late even before the first watermark after the
// restore. Without a backend state lives in memory.
type WindowAgg struct {
	Spec WindowAggSpec

	calls    []callPlan
	keyTypes []types.Type
	outTypes []types.Type
	resTypes []types.Type       // the calls' result types
	panes    kvStore[*winPanes] // TUMBLE, HOP, CUMULATE
	sess     kvStore[*winEntry] // SESSION
	maxPar   int
	tc       *exec.TaskContext
	compiled bool
	closed   bool

	wm   int64
	late int64

	// Timers: window end → keys (kg ‖ group key) to fire then, and a
	// heap of the ends. A key with panes has a timer at the end of its
	// next window to fire (and possibly stale ones, which fire nothing); a
	// session one at its end.
	timers map[int64]map[string]struct{}
	ends   endHeap
	// sessions: kg ‖ group key → its open sessions, by start.
	sessions map[string][]sessionSpan

	kbuf   []byte
	fbuf   []byte      // group key of the key firing
	acc    []accVal    // accumulators of the window firing
	loaded []*winPanes // state of the keys of a key group firing (loadKeyGroup)
	hashes []uint64
	out    winOut
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
	w.keyTypes, w.outTypes, w.resTypes, w.calls = nil, nil, nil, nil
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
		w.resTypes = append(w.resTypes, c.OutType.Nullable())
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
	w.panes, w.sess = openWinStores(tc, w.Spec.Window.Kind, w.Spec.Window.pane(), w.calls, w.Spec.CacheEntries)
	var err error
	if w.sess != nil {
		err = scanSubtask(tc, w.maxPar, w.sess, func(kg int, key []byte, e *winEntry) error {
			gk, start, err := splitStart(key)
			if err != nil {
				return err
			}
			id := kgKeyID(kg, gk)
			w.sessions[id] = insertSpan(w.sessions[id], sessionSpan{start, e.end})
			w.addTimer(e.end, id)
			return nil
		})
	} else {
		var legacy []string
		err = scanSubtask(tc, w.maxPar, w.panes, func(kg int, key []byte, p *winPanes) error {
			if p.legacy {
				legacy = append(legacy, kgKeyID(kg, key))
				return nil
			}
			w.addPaneTimer(kgKeyID(kg, key), p)
			return nil
		})
		if err == nil {
			err = w.migrate(legacy)
		}
	}
	if err != nil {
		return fmt.Errorf("window aggregate: restore timers: %w", err)
	}
	return nil
}

// ensureStores gives a WindowAgg used without Open its stores in memory.
func (w *WindowAgg) ensureStores() {
	if w.panes == nil && w.sess == nil {
		w.panes, w.sess = openWinStores(nil, w.Spec.Window.Kind, w.Spec.Window.pane(), w.calls, 0)
	}
}

// addPaneTimer sets the timer of key id (kg ‖ group key), whose panes are
// p, at its next window to fire, if any.
func (w *WindowAgg) addPaneTimer(id string, p *winPanes) {
	if end, ok := w.nextEnd(p, p.fired); ok {
		w.addTimer(end, id)
	}
}

// migrate moves the panes of format version 1 (one entry per pane, under
// the group key ‖ start), whose ids (kg ‖ key) Open found, into the entry
// of their group key, and sets the timers of those keys.
func (w *WindowAgg) migrate(legacy []string) error {
	if len(legacy) == 0 {
		return nil
	}
	nc := len(w.calls)
	var keys []string
	for _, id := range legacy {
		kg, key := splitKgKeyID(id)
		old, ok, err := w.panes.get(kg, key)
		if err != nil || !ok || len(key) < 8 {
			if err == nil {
				err = fmt.Errorf("pane %x vanished: %w", key, state.ErrCorrupt)
			}
			return err
		}
		if err := w.panes.del(kg, key); err != nil {
			return err
		}
		gk := key[:len(key)-8]
		p, ok, err := w.panes.get(kg, gk)
		if err != nil {
			return err
		}
		if !ok {
			p = &winPanes{fired: math.MinInt64}
			keys = append(keys, kgKeyID(kg, gk))
		}
		k, found := p.find(old.starts[0])
		if !found {
			p.insert(k, old.starts[0], nc)
		}
		if err := mergeVals(w.calls, p.pane(k, nc), old.vals); err != nil {
			return err
		}
		p.fired = max(p.fired, old.fired)
		if err := w.panes.put(kg, gk, p); err != nil {
			return err
		}
	}
	for _, id := range keys {
		kg, gk := splitKgKeyID(id)
		p, ok, err := w.panes.get(kg, gk)
		if err != nil {
			return err
		}
		if ok {
			w.addPaneTimer(id, p)
		}
	}
	return nil
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
	w.ensureStores()
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
	gk := w.kbuf[2:]
	p, ok, err := w.panes.get(kg, gk)
	if err != nil {
		return fmt.Errorf("window aggregate: read state: %w", err)
	}
	if !ok {
		p = &winPanes{fired: math.MinInt64}
	} else if first <= p.fired {
		// The first window of the pane fired before a restore, with a
		// watermark the restored operator has not seen yet.
		w.late++
		return nil
	}
	nc := len(w.calls)
	k, found := p.find(ps)
	if !found {
		if next, ok := w.nextEnd(p, p.fired); !ok || first < next {
			w.addTimer(first, string(w.kbuf))
		}
		p.insert(k, ps, nc)
	}
	if err := addRow(w.calls, p.pane(k, nc), b, i); err != nil {
		return err
	}
	if err := w.panes.put(kg, gk, p); err != nil {
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
	rec := newAccRecord(len(w.calls))
	key := func(start int64) []byte { return appendStart(slices.Clone(gk), start) }
	for _, s := range absorbed {
		e, ok, err := w.sess.get(kg, key(s.start))
		if err != nil {
			return fmt.Errorf("window aggregate: read state: %w", err)
		}
		if !ok {
			return fmt.Errorf("window aggregate: session [%d, %d) has no state: %w", s.start, s.end, state.ErrCorrupt)
		}
		if err := mergeVals(w.calls, rec.vals, e.rec.vals); err != nil {
			return err
		}
		if s.start != merged.start {
			if err := w.sess.del(kg, key(s.start)); err != nil {
				return fmt.Errorf("window aggregate: delete state: %w", err)
			}
		}
	}
	if err := addRow(w.calls, rec.vals, b, i); err != nil {
		return err
	}
	if err := w.sess.put(kg, key(merged.start), &winEntry{end: merged.end, rec: rec}); err != nil {
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

// Snapshot implements exec.Snapshotter: it flushes the window state (all
// of it is keyed state; no other bytes).
func (w *WindowAgg) Snapshot(id int64) ([]byte, error) {
	var err error
	switch {
	case w.panes != nil:
		err = w.panes.flush()
	case w.sess != nil:
		err = w.sess.flush()
	}
	if err != nil {
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
	w.panes, w.sess, w.timers, w.sessions, w.ends = nil, nil, nil, nil, nil
	w.out.release()
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
