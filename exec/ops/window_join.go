package ops

import (
	"container/heap"
	"encoding/binary"
	"fmt"
	"log"
	"math"
	"slices"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// WindowJoinSpec is the plan of a WindowJoin.
type WindowJoinSpec struct {
	// Type is InnerJoin, LeftJoin, RightJoin or FullJoin.
	Type JoinType
	// LeftKeys, RightKeys, LeftTypes, RightTypes and Residual are as in
	// JoinSpec. The keys include the window: some i has LeftKeys[i] =
	// LeftEnd and RightKeys[i] = RightEnd (window_start is usually a key
	// too), so that rows join only within their window and the hash
	// exchange spreads windows over subtasks.
	LeftKeys, RightKeys   []int
	LeftTypes, RightTypes []types.Type
	Residual              expr.Expr
	// LeftEnd and RightEnd are the window_end columns (TIMESTAMP) of each
	// side.
	LeftEnd, RightEnd int
	// CacheEntries bounds the (window, key) entries kept decoded in memory
	// with a state store (0: DefaultJoinCacheEntries).
	CacheEntries int
}

func (s *WindowJoinSpec) joinSpec() JoinSpec {
	return JoinSpec{Type: s.Type, LeftKeys: s.LeftKeys, RightKeys: s.RightKeys, LeftTypes: s.LeftTypes,
		RightTypes: s.RightTypes, Residual: s.Residual, CacheEntries: s.CacheEntries}
}

// Validate checks the spec.
func (s *WindowJoinSpec) Validate() error {
	if s.Type > FullJoin {
		return fmt.Errorf("%w: a window join is INNER, LEFT, RIGHT or FULL, not %v", ErrJoinSpec, s.Type)
	}
	js := s.joinSpec()
	if err := js.Validate(); err != nil {
		return err
	}
	for side, c := range [2]struct {
		col int
		ts  []types.Type
	}{{s.LeftEnd, s.LeftTypes}, {s.RightEnd, s.RightTypes}} {
		if c.col < 0 || c.col >= len(c.ts) {
			return fmt.Errorf("%w: %s window end column %d of %d", ErrJoinSpec, joinSideName(side), c.col, len(c.ts))
		}
		if k := c.ts[c.col].Kind; k != types.KindTimestamp && k != types.KindTimestampLTZ {
			return fmt.Errorf("%w: %s window end column %d is %v, not a TIMESTAMP", ErrJoinSpec, joinSideName(side), c.col, c.ts[c.col])
		}
	}
	for i := range s.LeftKeys {
		if s.LeftKeys[i] == s.LeftEnd && s.RightKeys[i] == s.RightEnd {
			return nil
		}
	}
	return fmt.Errorf("%w: the keys of a window join must pair the window ends (left %d, right %d)", ErrJoinSpec, s.LeftEnd, s.RightEnd)
}

// OutTypes returns the output column types (as JoinSpec.OutTypes).
func (s *WindowJoinSpec) OutTypes() []types.Type {
	js := s.joinSpec()
	return js.OutTypes()
}

// WindowJoin is Flink's window join: two inputs that carry their windows
// (window TVFs or window aggregates) joined per window, once the window is
// complete.
//
// Inputs: two append-only streams (ProcessInput: 0 = left, 1 = right; any
// row that is not +I fails), hash-partitioned by their keys, which include
// the window (see WindowJoinSpec).
//
// Output: append-only (+I). Rows are buffered per (window, key) until the
// watermark reaches window_end - 1 µs (ProcessWatermark; Finish acts as a
// MAX watermark). Then each buffered pair (left rows in arrival order,
// each with the right rows in arrival order) whose residual is TRUE is
// emitted, then the rows of outer sides (LEFT: left, RIGHT: right, FULL:
// both) that joined nothing, padded with NULLs; the entry is dropped.
// Entries fire in order of window_end, then of key group and encoded key.
// A row with a NULL key joins nothing (it is still padded on an outer
// side). The watermark is forwarded unchanged, after the rows it
// completed.
//
// Late rows: a row whose window_end - 1 µs is at or below the watermark is
// dropped and counted (LateRows; Close logs the count when it is not
// zero); so is a row with a NULL window_end.
//
// State: per (window, key) entry, its window_end and both sides' rows, in
// keyed state under exec.StateNamespace (in memory without a state store).
// Snapshot flushes it; timers are rebuilt from it in Open.
type WindowJoin struct {
	Spec WindowJoinSpec

	outTypes  []types.Type
	candTypes []types.Type
	nLeft     int
	store     kvStore[*wjEntry]
	maxPar    int
	tc        *exec.TaskContext
	started   bool
	closed    bool

	wm   int64
	late int64

	timers map[int64]map[string]struct{} // window end → kg ‖ key
	ends   endHeap

	hashes []uint64
	kbuf   []byte
	out    *types.Batch
	cand   *types.Batch
	keep   []bool
}

var (
	_ exec.MultiInputOperator = (*WindowJoin)(nil)
	_ exec.Opener             = (*WindowJoin)(nil)
	_ exec.WatermarkHandler   = (*WindowJoin)(nil)
	_ exec.Finisher           = (*WindowJoin)(nil)
	_ exec.Snapshotter        = (*WindowJoin)(nil)
	_ exec.Closer             = (*WindowJoin)(nil)
)

// wjEntry is the state of one window and key: both sides' rows.
type wjEntry struct {
	end  int64
	rows [2][][]types.Datum
}

// NewWindowJoin validates spec and returns a WindowJoin with its own clone
// of the residual.
func NewWindowJoin(spec WindowJoinSpec) (*WindowJoin, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if spec.Residual != nil {
		spec.Residual = spec.Residual.Clone()
	}
	return &WindowJoin{Spec: spec}, nil
}

// WindowJoinFactory returns a factory of WindowJoins (NewWindowJoin).
func WindowJoinFactory(spec WindowJoinSpec) exec.OperatorFactory {
	return func(int) (exec.Operator, error) { return NewWindowJoin(spec) }
}

// OutTypes returns the output column types.
func (j *WindowJoin) OutTypes() []types.Type { return j.Spec.OutTypes() }

// LateRows returns the number of late rows dropped so far.
func (j *WindowJoin) LateRows() int64 { return j.late }

// Open implements exec.Opener: it chooses the state store and rebuilds the
// timers of the subtask's key groups from it.
func (j *WindowJoin) Open(tc *exec.TaskContext) error {
	if err := j.start(tc); err != nil {
		return err
	}
	if tc == nil || tc.State == nil {
		return nil
	}
	first, last := exec.KeyGroupRange(tc.Subtask, max(tc.Parallelism, 1), j.maxPar)
	err := j.store.scan(first, last, func(kg int, key []byte, e *wjEntry) error {
		j.addTimer(e.end, kgKeyID(kg, key))
		return nil
	})
	if err != nil {
		return fmt.Errorf("window join: restore timers: %w", err)
	}
	return nil
}

func (j *WindowJoin) start(tc *exec.TaskContext) error {
	if j.started {
		return nil
	}
	if err := j.Spec.Validate(); err != nil {
		return err
	}
	s := &j.Spec
	j.tc = tc
	j.nLeft = len(s.LeftTypes)
	j.outTypes = s.OutTypes()
	j.candTypes = append(slices.Clone(s.LeftTypes), s.RightTypes...)
	j.maxPar = state.DefaultMaxParallelism
	if tc != nil && tc.MaxParallelism > 0 {
		j.maxPar = tc.MaxParallelism
	}
	j.wm = math.MinInt64
	j.timers = map[int64]map[string]struct{}{}
	if tc == nil || tc.State == nil {
		j.store = newMemKV[*wjEntry]()
	} else {
		cache := s.CacheEntries
		if cache <= 0 {
			cache = DefaultJoinCacheEntries
		}
		ks := state.NewKeyedState[*wjEntry](tc.State, exec.StateNamespace(tc), wjCodec{types: [2][]types.Type{s.LeftTypes, s.RightTypes}}, cache)
		if tc.Epoch != nil {
			ks.SetEpoch(tc.Epoch) // versioned by checkpoint
		}
		j.store = keyedKV[*wjEntry]{ks}
	}
	j.started = true
	return nil
}

func (j *WindowJoin) outer(side int) bool {
	t := j.Spec.Type
	return t == FullJoin || (side == 0 && t == LeftJoin) || (side == 1 && t == RightJoin)
}

func (j *WindowJoin) addTimer(end int64, id string) {
	set := j.timers[end]
	if set == nil {
		set = map[string]struct{}{}
		j.timers[end] = set
		heap.Push(&j.ends, end)
	}
	set[id] = struct{}{}
}

// Process implements exec.Operator; a WindowJoin needs ProcessInput.
func (j *WindowJoin) Process(b *types.Batch, _ exec.Collector) error {
	b.Release()
	return fmt.Errorf("window %w", ErrJoinInputs)
}

// ProcessInput implements exec.MultiInputOperator: it buffers the rows of
// one side.
func (j *WindowJoin) ProcessInput(input int, b *types.Batch, _ exec.Collector) error {
	defer b.Release()
	if j.closed {
		return fmt.Errorf("window join: operator closed")
	}
	if input != 0 && input != 1 {
		return fmt.Errorf("window %w: input %d", ErrJoinInputs, input)
	}
	if err := j.start(nil); err != nil {
		return err
	}
	ts, keys, endCol := j.Spec.LeftTypes, j.Spec.LeftKeys, j.Spec.LeftEnd
	if input == 1 {
		ts, keys, endCol = j.Spec.RightTypes, j.Spec.RightKeys, j.Spec.RightEnd
	}
	if err := joinCheckBatch(b, ts, input); err != nil {
		return fmt.Errorf("window %w", err)
	}
	j.hashes = exec.HashColumns(b, keys, j.hashes)
	ends := &b.Cols[endCol]
	for i := range b.Len() {
		if b.Ops[i] != types.Insert {
			return fmt.Errorf("window join: a %v row on the %s input: a window join takes append-only inputs", b.Ops[i], joinSideName(input))
		}
		if ends.IsNull(i) || ends.I64[i]-1 <= j.wm {
			j.late++
			continue
		}
		end := ends.I64[i]
		kg := exec.KeyGroup(j.hashes[i], j.maxPar)
		j.kbuf = state.EncodeKeyColumns(j.kbuf[:0], b, keys, i)
		e, ok, err := j.store.get(kg, j.kbuf)
		if err != nil {
			return fmt.Errorf("window join: read state: %w", err)
		}
		if !ok {
			e = &wjEntry{end: end}
			j.addTimer(end, kgKeyID(kg, j.kbuf))
		}
		e.rows[input] = append(e.rows[input], b.Row(i, nil))
		if err := j.store.put(kg, j.kbuf, e); err != nil {
			return fmt.Errorf("window join: write state: %w", err)
		}
	}
	return nil
}

// ProcessWatermark implements exec.WatermarkHandler: it joins and emits
// the entries of every window whose end - 1 µs is at or below wm, then
// forwards wm.
func (j *WindowJoin) ProcessWatermark(wm int64, out exec.Collector) (int64, error) {
	if j.closed {
		return wm, fmt.Errorf("window join: operator closed")
	}
	if err := j.start(nil); err != nil {
		return wm, err
	}
	if wm > j.wm {
		j.wm = wm
	}
	return wm, j.fire(out)
}

// Finish implements exec.Finisher: every open window fires.
func (j *WindowJoin) Finish(out exec.Collector) error {
	if j.closed {
		return fmt.Errorf("window join: operator closed")
	}
	if err := j.start(nil); err != nil {
		return err
	}
	j.wm = math.MaxInt64
	return j.fire(out)
}

func (j *WindowJoin) fire(out exec.Collector) error {
	for len(j.ends) > 0 && j.ends[0]-1 <= j.wm {
		end := heap.Pop(&j.ends).(int64)
		set := j.timers[end]
		delete(j.timers, end)
		ids := make([]string, 0, len(set))
		for id := range set {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			if err := j.fireEntry(id); err != nil {
				return err
			}
			if j.out != nil && j.out.Len() >= types.DefaultBatchSize {
				if err := j.flush(out); err != nil {
					return err
				}
			}
		}
	}
	return j.flush(out)
}

// fireEntry joins, emits and drops the entry id (kg ‖ key).
func (j *WindowJoin) fireEntry(id string) error {
	kg := int(id[0])<<8 | int(id[1])
	key := []byte(id[2:])
	e, ok, err := j.store.get(kg, key)
	if err != nil {
		return fmt.Errorf("window join: read state: %w", err)
	}
	if !ok {
		return nil
	}
	left, right := e.rows[0], e.rows[1]
	matched := [2][]bool{make([]bool, len(left)), make([]bool, len(right))}
	if len(left) > 0 && len(right) > 0 && !rowKeyHasNull(left[0], j.Spec.LeftKeys) {
		if err := j.pairs(left, right, &matched); err != nil {
			return err
		}
	}
	for side, rows := range e.rows {
		if !j.outer(side) {
			continue
		}
		for r, row := range rows {
			if !matched[side][r] {
				j.emitPadded(side, row)
			}
		}
	}
	if err := j.store.del(kg, key); err != nil {
		return fmt.Errorf("window join: delete state: %w", err)
	}
	return nil
}

// pairs emits the pairs of left and right rows (of one window and key)
// that the residual accepts and marks the rows that joined.
func (j *WindowJoin) pairs(left, right [][]types.Datum, matched *[2][]bool) error {
	if j.cand == nil {
		j.cand = types.NewBatch(j.candTypes)
	}
	row := make([]types.Datum, 0, len(j.candTypes))
	for l0 := 0; l0 < len(left); {
		// Candidates in chunks of about a batch, so that a large window
		// does not build one huge batch.
		j.cand.Reset(j.candTypes)
		l1 := l0
		for l1 < len(left) && (l1 == l0 || j.cand.Len()+len(right) <= types.DefaultBatchSize) {
			for _, r := range right {
				row = append(append(row[:0], left[l1]...), r...)
				j.cand.AppendRow(types.Insert, row)
			}
			l1++
		}
		if j.Spec.Residual != nil {
			var err error
			if j.keep, err = expr.Filter(j.Spec.Residual, j.cand, j.keep); err != nil {
				return fmt.Errorf("window join: residual: %w", err)
			}
		}
		for c := range j.cand.Len() {
			if j.Spec.Residual != nil && !j.keep[c] {
				continue
			}
			l, r := l0+c/len(right), c%len(right)
			matched[0][l], matched[1][r] = true, true
			if j.out == nil {
				j.out = types.NewBatch(j.outTypes)
			}
			j.out.AppendFrom(j.cand, c)
		}
		l0 = l1
	}
	return nil
}

func rowKeyHasNull(row []types.Datum, keys []int) bool {
	for _, c := range keys {
		if row[c].Null {
			return true
		}
	}
	return false
}

// emitPadded emits a row of side with NULLs for the other side.
func (j *WindowJoin) emitPadded(side int, row []types.Datum) {
	if j.out == nil {
		j.out = types.NewBatch(j.outTypes)
	}
	full := make([]types.Datum, len(j.outTypes))
	off := 0
	if side == 1 {
		off = j.nLeft
	}
	for c, t := range j.outTypes {
		if c >= off && c < off+len(row) {
			full[c] = row[c-off]
			full[c].Type = t
		} else {
			full[c] = types.NullDatum(t)
		}
	}
	j.out.AppendRow(types.Insert, full)
}

func (j *WindowJoin) flush(out exec.Collector) error {
	if j.out == nil || j.out.Len() == 0 {
		return nil
	}
	b := j.out
	j.out = nil
	return out.Collect(b)
}

// StateKeys returns the number of (window, key) entries in state (for
// tests).
func (j *WindowJoin) StateKeys() (int, error) {
	if !j.started {
		return 0, nil
	}
	n := 0
	err := j.store.scan(0, state.MaxKeyGroups-1, func(int, []byte, *wjEntry) error {
		n++
		return nil
	})
	return n, err
}

// Snapshot implements exec.Snapshotter: it flushes the keyed state.
func (j *WindowJoin) Snapshot(id int64) ([]byte, error) {
	if !j.started {
		return nil, nil
	}
	if err := j.store.flush(); err != nil {
		return nil, fmt.Errorf("window join: checkpoint %d: %w", id, err)
	}
	return nil, nil
}

// Close implements exec.Closer. It keeps the durable state, logs the late
// rows dropped, and is idempotent.
func (j *WindowJoin) Close() error {
	if j.closed {
		return nil
	}
	j.closed = true
	if j.late > 0 {
		log.Printf("window join%s: dropped %d late rows", taskWhere(j.tc), j.late)
	}
	j.out.Release()
	j.out = nil
	j.cand.Release()
	j.cand = nil
	j.timers, j.ends = nil, nil
	return nil
}

// wjCodec encodes a wjEntry: format version (1), varint end, then the left
// rows and the right rows as appendRowList writes them.
type wjCodec struct{ types [2][]types.Type }

const wjFormatVersion = 1

// Encode implements state.Codec.
func (c wjCodec) Encode(dst []byte, e *wjEntry) []byte {
	dst = append(dst, wjFormatVersion)
	dst = binary.AppendVarint(dst, e.end)
	dst = appendRowList(dst, e.rows[0])
	return appendRowList(dst, e.rows[1])
}

// Decode implements state.Codec.
func (c wjCodec) Decode(b []byte) (*wjEntry, error) {
	if len(b) == 0 || b[0] != wjFormatVersion {
		return nil, fmt.Errorf("window join state: bad format version: %w", state.ErrCorrupt)
	}
	end, n := binary.Varint(b[1:])
	if n <= 0 {
		return nil, fmt.Errorf("window join state: bad window end: %w", state.ErrCorrupt)
	}
	e := &wjEntry{end: end}
	b = b[1+n:]
	for side := range e.rows {
		var err error
		if e.rows[side], b, err = readRowList(b, c.types[side]); err != nil {
			return nil, fmt.Errorf("window join state: %s rows: %w", joinSideName(side), err)
		}
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("window join state: %d trailing bytes: %w", len(b), state.ErrCorrupt)
	}
	return e, nil
}
