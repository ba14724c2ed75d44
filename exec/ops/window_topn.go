package ops

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// WindowTopNSpec is the plan of a WindowTopN: ROW_NUMBER() OVER
// (PARTITION BY window_start, window_end[, keys] ORDER BY Order) filtered
// on rn <= N, over rows that carry their window (a window TVF's or a
// window aggregate's output).
type WindowTopNSpec struct {
	// PartitionCols are the input columns of the PARTITION BY; they
	// include the window columns, at least WindowEnd.
	PartitionCols []int
	// WindowEnd is the input column holding window_end (TIMESTAMP): the
	// partition is complete when the watermark reaches window_end - 1 µs.
	WindowEnd int
	// Order is the ORDER BY of the window function. Rows tied on Order
	// rank by their values in every column, ascending (so the result does
	// not depend on arrival order).
	Order []SortKey
	// N keeps ranks 1..N; it must be at least 1.
	N int64
	// InTypes are the input column types.
	InTypes []types.Type
	// WithRank appends the BIGINT rank to each output row.
	WithRank bool
	// CacheEntries bounds the partitions kept decoded in memory with a
	// state store (0: DefaultAggCacheEntries).
	CacheEntries int
}

// Validate checks the spec against its input types.
func (s *WindowTopNSpec) Validate() error {
	if s.N < 1 {
		return fmt.Errorf("%w: window Top-N keeps ranks 1..%d", ErrWindowSpec, s.N)
	}
	if s.WindowEnd < 0 || s.WindowEnd >= len(s.InTypes) {
		return fmt.Errorf("%w: window end column %d of a %d-column input", ErrWindowSpec, s.WindowEnd, len(s.InTypes))
	}
	if k := s.InTypes[s.WindowEnd].Kind; k != types.KindTimestamp && k != types.KindTimestampLTZ {
		return fmt.Errorf("%w: window end column %d is %v, not a TIMESTAMP", ErrWindowSpec, s.WindowEnd, s.InTypes[s.WindowEnd])
	}
	if !slices.Contains(s.PartitionCols, s.WindowEnd) {
		return fmt.Errorf("%w: window Top-N must partition by its window end column %d", ErrWindowSpec, s.WindowEnd)
	}
	for _, c := range s.PartitionCols {
		if c < 0 || c >= len(s.InTypes) {
			return fmt.Errorf("%w: partition column %d of a %d-column input", ErrWindowSpec, c, len(s.InTypes))
		}
	}
	for _, k := range s.Order {
		if k.Col < 0 || k.Col >= len(s.InTypes) {
			return fmt.Errorf("%w: order column %d of a %d-column input", ErrWindowSpec, k.Col, len(s.InTypes))
		}
	}
	return nil
}

// OutTypes returns the output column types: the input's, then the BIGINT
// NOT NULL rank with WithRank.
func (s *WindowTopNSpec) OutTypes() []types.Type {
	out := slices.Clone(s.InTypes)
	if s.WithRank {
		out = append(out, types.Type{Kind: types.KindBigInt, NotNull: true})
	}
	return out
}

// WindowTopN is Flink's window Top-N: the N first rows of each window and
// partition, emitted once, when the window is complete.
//
// Input: append-only rows (+I; anything else fails) holding their window
// (window_end in Spec.WindowEnd), hash-partitioned by PartitionCols.
//
// Output: append-only (+I). When the watermark reaches window_end - 1 µs
// (ProcessWatermark; Finish acts as a MAX watermark), every partition of
// that window emits its kept rows in rank order, with the rank when
// WithRank, and is dropped from state. Partitions fire in order of
// window_end, then of key group and encoded partition key. The watermark
// is forwarded unchanged, after the rows it completed.
//
// Late rows: a row whose window_end - 1 µs is at or below the watermark
// (its window fired already) is dropped and counted: LateRows returns the
// count, and Close logs it when it is not zero. Rows with a NULL
// window_end belong to no window and are dropped too.
//
// State: per partition, its window_end and its best rows so far (at most
// N, sorted), in keyed state under exec.StateNamespace in the key group of
// the partition columns (as the Hash exchange routes them); in memory
// without a state store. Snapshot flushes it; timers live in memory and
// are rebuilt from it in Open, so a restored operator fires what was open
// at the checkpoint and nothing twice.
type WindowTopN struct {
	Spec WindowTopNSpec
	windowCore[*wtnEntry]

	outTypes []types.Type
	cmpKeys  []SortKey // Order, then every column ascending
}

var (
	_ exec.Opener           = (*WindowTopN)(nil)
	_ exec.WatermarkHandler = (*WindowTopN)(nil)
	_ exec.Finisher         = (*WindowTopN)(nil)
	_ exec.Snapshotter      = (*WindowTopN)(nil)
	_ exec.Closer           = (*WindowTopN)(nil)
)

// wtnEntry is the state of one partition of one window.
type wtnEntry struct {
	end  int64
	rows [][]types.Datum // sorted by cmpKeys, at most N
}

func (e *wtnEntry) windowEnd() int64 { return e.end }

// NewWindowTopN checks spec and returns a WindowTopN for it.
func NewWindowTopN(spec WindowTopNSpec) (*WindowTopN, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	return &WindowTopN{Spec: spec}, nil
}

// WindowTopNFactory returns a factory of WindowTopNs (NewWindowTopN).
func WindowTopNFactory(spec WindowTopNSpec) exec.OperatorFactory {
	return func(int) (exec.Operator, error) { return NewWindowTopN(spec) }
}

// OutTypes returns the output column types.
func (w *WindowTopN) OutTypes() []types.Type { return w.Spec.OutTypes() }

// Open implements exec.Opener: it chooses the state store and rebuilds the
// timers of the subtask's key groups from it.
func (w *WindowTopN) Open(tc *exec.TaskContext) error {
	if err := w.start(tc); err != nil {
		return err
	}
	return w.restoreTimers(tc)
}

func (w *WindowTopN) start(tc *exec.TaskContext) error {
	if w.started {
		return nil
	}
	if err := w.Spec.Validate(); err != nil {
		return err
	}
	w.outTypes = w.Spec.OutTypes()
	w.cmpKeys = slices.Clone(w.Spec.Order)
	for c := range w.Spec.InTypes {
		w.cmpKeys = append(w.cmpKeys, Asc(c))
	}
	store := openKV[*wtnEntry](tc, nil, wtnCodec{types: w.Spec.InTypes}, w.Spec.CacheEntries, DefaultAggCacheEntries)
	w.init("window top-n", tc, w.outTypes, store)
	return nil
}

// ready starts the operator without a task when Open was not called; it
// fails once the operator is closed.
func (w *WindowTopN) ready() error {
	if err := w.usable(); err != nil {
		return err
	}
	return w.start(nil)
}

// Process implements exec.Operator.
func (w *WindowTopN) Process(b *types.Batch, _ exec.Collector) error {
	defer b.Release()
	if err := w.ready(); err != nil {
		return err
	}
	if len(b.Cols) != len(w.Spec.InTypes) {
		return fmt.Errorf("window top-n: %d-column batch, want %d", len(b.Cols), len(w.Spec.InTypes))
	}
	n := b.Len()
	w.hashes = exec.HashColumns(b, w.Spec.PartitionCols, w.hashes)
	ends := &b.Cols[w.Spec.WindowEnd]
	for i := range n {
		if b.Ops[i] != types.Insert {
			return fmt.Errorf("window top-n: a %v row: window Top-N takes append-only input", b.Ops[i])
		}
		if ends.IsNull(i) {
			continue
		}
		end := ends.I64[i]
		if w.isLate(end) {
			w.late++
			continue
		}
		if err := w.add(b, i, end); err != nil {
			return err
		}
	}
	return nil
}

// add offers row i of b to its partition's top N.
func (w *WindowTopN) add(b *types.Batch, i int, end int64) error {
	kg := exec.KeyGroup(w.hashes[i], w.maxPar)
	w.kbuf = state.EncodeKeyColumns(w.kbuf[:0], b, w.Spec.PartitionCols, i)
	e, ok, err := w.store.get(kg, w.kbuf)
	if err != nil {
		return fmt.Errorf("window top-n: read state: %w", err)
	}
	row := b.Row(i, nil)
	if !ok {
		e = &wtnEntry{end: end}
	}
	pos, _ := slices.BinarySearchFunc(e.rows, row, func(a, r []types.Datum) int {
		return compareDatumRowsBy(w.cmpKeys, a, r)
	})
	if int64(pos) >= w.Spec.N {
		return nil // below the top N (N >= 1, so the partition exists)
	}
	if !ok {
		w.timers.add(end, kgKeyID(kg, w.kbuf))
	}
	e.rows = slices.Insert(e.rows, pos, row)
	if int64(len(e.rows)) > w.Spec.N {
		e.rows[len(e.rows)-1] = nil
		e.rows = e.rows[:w.Spec.N]
	}
	if err := w.store.put(kg, w.kbuf, e); err != nil {
		return fmt.Errorf("window top-n: write state: %w", err)
	}
	return nil
}

// ProcessWatermark implements exec.WatermarkHandler: it emits the
// partitions of every window whose end - 1 µs is at or below wm, then
// forwards wm.
func (w *WindowTopN) ProcessWatermark(wm int64, out exec.Collector) (int64, error) {
	if err := w.ready(); err != nil {
		return wm, err
	}
	return wm, w.advance(wm, out, w.firePartition)
}

// Finish implements exec.Finisher: every open window fires.
func (w *WindowTopN) Finish(out exec.Collector) error {
	if err := w.ready(); err != nil {
		return err
	}
	return w.advance(math.MaxInt64, out, w.firePartition)
}

// firePartition emits and drops the partition id (kg ‖ key).
func (w *WindowTopN) firePartition(id string) error {
	kg, key := splitKgKeyID(id)
	e, ok, err := w.store.get(kg, key)
	if err != nil {
		return fmt.Errorf("window top-n: read state: %w", err)
	}
	if !ok {
		return nil
	}
	b := w.out.batch()
	for r, row := range e.rows {
		if w.Spec.WithRank {
			row = append(row[:len(row):len(row)], types.Datum{Type: w.outTypes[len(row)], I: int64(r + 1)})
		}
		b.AppendRow(types.Insert, row)
	}
	if err := w.store.del(kg, key); err != nil {
		return fmt.Errorf("window top-n: delete state: %w", err)
	}
	return nil
}

// Close implements exec.Closer. It keeps the durable state, logs the late
// rows dropped, and is idempotent.
func (w *WindowTopN) Close() error {
	w.close()
	return nil
}

// compareDatumRowsBy orders rows a and b by keys (NULLs placed as each
// key says).
func compareDatumRowsBy(keys []SortKey, a, b []types.Datum) int {
	for _, k := range keys {
		x, y := &a[k.Col], &b[k.Col]
		if c, done := compareNulls(x.Null, y.Null, k); done {
			if c != 0 {
				return c
			}
			continue
		}
		var c int
		if x.Type.Class() == types.ClassF64 {
			c = compareFloat(x.F, y.F)
		} else {
			c = types.Compare(*x, *y)
		}
		if k.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// wtnCodec encodes a wtnEntry: format version (1), varint end, then the
// rows as appendRowList writes them.
type wtnCodec struct{ types []types.Type }

const wtnFormatVersion = 1

// Encode implements state.Codec.
func (c wtnCodec) Encode(dst []byte, e *wtnEntry) []byte {
	dst = appendWindowEntryHead(dst, wtnFormatVersion, e.end)
	return appendRowList(dst, e.rows)
}

// Decode implements state.Codec.
func (c wtnCodec) Decode(b []byte) (*wtnEntry, error) {
	end, b, err := readWindowEntryHead(b, wtnFormatVersion, "window top-n state")
	if err != nil {
		return nil, err
	}
	rows, rest, err := readRowList(b, c.types)
	if err != nil {
		return nil, fmt.Errorf("window top-n state: %w", err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("window top-n state: %d trailing bytes: %w", len(rest), state.ErrCorrupt)
	}
	return &wtnEntry{end: end, rows: rows}, nil
}

// appendRowList appends uvarint count, then per row uvarint length and
// state.EncodeRow.
func appendRowList(dst []byte, rows [][]types.Datum) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(rows)))
	var scratch []byte
	for _, r := range rows {
		scratch = state.EncodeRow(scratch[:0], r)
		dst = binary.AppendUvarint(dst, uint64(len(scratch)))
		dst = append(dst, scratch...)
	}
	return dst
}

// readRowList reads what appendRowList wrote, rows of types ts, and
// returns the bytes after it.
func readRowList(b []byte, ts []types.Type) ([][]types.Datum, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, nil, fmt.Errorf("bad row count: %w", state.ErrCorrupt)
	}
	b = b[k:]
	rows := make([][]types.Datum, 0, n)
	for range n {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return nil, nil, fmt.Errorf("bad row length: %w", state.ErrCorrupt)
		}
		row, err := state.DecodeRow(b[k:k+int(l)], ts, nil)
		if err != nil {
			return nil, nil, err
		}
		rows = append(rows, row)
		b = b[k+int(l):]
	}
	return rows, b, nil
}
