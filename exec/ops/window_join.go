package ops

import (
	"fmt"
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
	if err := validateTimedJoin(s.joinSpec(), "a window join", "window end", [2]int{s.LeftEnd, s.RightEnd}); err != nil {
		return err
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
	windowCore[*wjEntry]

	outTypes  []types.Type
	candTypes []types.Type
	nLeft     int

	cand *types.Batch
	keep []bool
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

func (e *wjEntry) windowEnd() int64 { return e.end }

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

// Open implements exec.Opener: it chooses the state store and rebuilds the
// timers of the subtask's key groups from it.
func (j *WindowJoin) Open(tc *exec.TaskContext) error {
	if err := j.start(tc); err != nil {
		return err
	}
	return j.restoreTimers(tc)
}

func (j *WindowJoin) start(tc *exec.TaskContext) error {
	if j.started {
		return nil
	}
	if err := j.Spec.Validate(); err != nil {
		return err
	}
	s := &j.Spec
	j.nLeft = len(s.LeftTypes)
	j.outTypes = s.OutTypes()
	j.candTypes = append(slices.Clone(s.LeftTypes), s.RightTypes...)
	codec := wjCodec{types: [2][]types.Type{s.LeftTypes, s.RightTypes}}
	j.init("window join", tc, j.outTypes, openKV[*wjEntry](tc, nil, codec, s.CacheEntries, DefaultJoinCacheEntries))
	return nil
}

// ready starts the operator without a task when Open was not called; it
// fails once the operator is closed.
func (j *WindowJoin) ready() error {
	if err := j.usable(); err != nil {
		return err
	}
	return j.start(nil)
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
	if err := j.usable(); err != nil {
		return err
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
		if ends.IsNull(i) || j.isLate(ends.I64[i]) {
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
			j.timers.add(end, kgKeyID(kg, j.kbuf))
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
	if err := j.ready(); err != nil {
		return wm, err
	}
	return wm, j.advance(wm, out, j.fireEntry)
}

// Finish implements exec.Finisher: every open window fires.
func (j *WindowJoin) Finish(out exec.Collector) error {
	if err := j.ready(); err != nil {
		return err
	}
	return j.advance(math.MaxInt64, out, j.fireEntry)
}

// fireEntry joins, emits and drops the entry id (kg ‖ key).
func (j *WindowJoin) fireEntry(id string) error {
	kg, key := splitKgKeyID(id)
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
		if !joinOuter(j.Spec.Type, side) {
			continue
		}
		for r, row := range rows {
			if !matched[side][r] {
				j.out.appendPadded(j.nLeft, side, row)
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
			j.out.batch().AppendFrom(j.cand, c)
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

// Close implements exec.Closer. It keeps the durable state, logs the late
// rows dropped, and is idempotent.
func (j *WindowJoin) Close() error {
	if j.close() {
		j.cand.Release()
		j.cand = nil
	}
	return nil
}

// wjCodec encodes a wjEntry: format version (1), varint end, then the left
// rows and the right rows as appendRowList writes them.
type wjCodec struct{ types [2][]types.Type }

const wjFormatVersion = 1

// Encode implements state.Codec.
func (c wjCodec) Encode(dst []byte, e *wjEntry) []byte {
	dst = appendWindowEntryHead(dst, wjFormatVersion, e.end)
	dst = appendRowList(dst, e.rows[0])
	return appendRowList(dst, e.rows[1])
}

// Decode implements state.Codec.
func (c wjCodec) Decode(b []byte) (*wjEntry, error) {
	end, b, err := readWindowEntryHead(b, wjFormatVersion, "window join state")
	if err != nil {
		return nil, err
	}
	e := &wjEntry{end: end}
	for side := range e.rows {
		if e.rows[side], b, err = readRowList(b, c.types[side]); err != nil {
			return nil, fmt.Errorf("window join state: %s rows: %w", joinSideName(side), err)
		}
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("window join state: %d trailing bytes: %w", len(b), state.ErrCorrupt)
	}
	return e, nil
}
