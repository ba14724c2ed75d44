package ops

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// TopNSpec is the plan of a TopN: ROW_NUMBER() OVER (PARTITION BY
// PartitionCols ORDER BY Order) filtered on rn <= N.
type TopNSpec struct {
	// PartitionCols are the input columns of the PARTITION BY; empty for
	// one global partition.
	PartitionCols []int
	// Order is the ORDER BY of the window. Empty means arrival order, so
	// that N = 1 keeps the first row of each partition (deduplication).
	Order []SortKey
	// N keeps ranks 1..N (N ≤ 0: no row is ever emitted).
	N int64
	// InTypes are the input column types.
	InTypes []types.Type
	// WithRank appends a BIGINT rank column (the row_number) to each output
	// row; without it the output has the input columns only.
	WithRank bool
	// InsertOnly may be set by a planner that knows the input has only +I
	// (or +U) rows: each partition then keeps only its top N rows, and a
	// retraction fails with ErrTopNRetraction. Otherwise every row of a
	// partition is kept, so that a retracted top row can be replaced.
	InsertOnly bool
}

// Errors of TopN.
var (
	// ErrTopNSpec wraps the errors of an invalid TopNSpec.
	ErrTopNSpec = errors.New("top-n: invalid plan")
	// ErrTopNRetraction is returned when an InsertOnly TopN receives a
	// retraction.
	ErrTopNRetraction = errors.New("top-n: retraction on an insert-only input")
)

// TopN is Flink's streaming Top-N (and, with N = 1 and no Order,
// deduplication keeping the first row per partition).
//
// Input. Any changelog: +I and +U add their row to its partition, -U and
// -D retract one row with equal values in every column (NULL matching
// NULL). A retraction with no matching row is ignored, as Flink does for
// retractions that reach an operator without state. Rows tied on Order
// rank by arrival (the earlier row first), so the result is deterministic
// for a given input order; among several rows equal in every column a
// retraction removes the last-arrived one.
//
// Output. A retract changelog (+I and -D only). After each input batch,
// for every partition the batch touched (in order of its first row in the
// batch), TopN compares the partition's top N with what it emitted before
// and emits the difference: first -D for every row that left the top N
// (with WithRank, also for every row whose rank changed, carrying its old
// rank), then +I for every row that entered it (with WithRank, also for
// every row with a new rank). Without WithRank a rank change alone emits
// nothing.
//
// State. Per partition, a slice of rows sorted by (Order, arrival) and the
// rows last emitted, in a Go map keyed by the partition key's
// state.EncodeKeyColumns encoding. The state is in memory only: it is not
// written to TaskContext.State and is not part of checkpoints. A partition
// whose rows are all retracted is removed.
type TopN struct {
	// Spec is the plan; it must not change once the operator is used.
	Spec TopNSpec

	outTypes []types.Type
	parts    map[string]*topnPart
	seq      int64
	compiled bool

	// Per-batch scratch, reused.
	key     []byte
	touched []*topnPart
	row     []types.Datum
}

// topnRow is a row of a partition; vals is never modified once stored.
type topnRow struct {
	vals []types.Datum
	seq  int64 // arrival order, unique per operator
}

// topnPart is the state of one partition.
type topnPart struct {
	key     string
	rows    []topnRow // sorted by (Order, seq)
	emitted []topnRow // the top N as last emitted; rank = index + 1
	touched bool      // in TopN.touched for the current batch
}

// NewTopN checks spec and returns a TopN for it.
func NewTopN(spec TopNSpec) (*TopN, error) {
	t := &TopN{Spec: spec}
	if err := t.compile(); err != nil {
		return nil, err
	}
	return t, nil
}

// TopNFactory returns a factory of TopNs; it fails when spec is invalid
// (ErrTopNSpec).
func TopNFactory(spec TopNSpec) exec.OperatorFactory {
	return func(int) (exec.Operator, error) { return NewTopN(spec) }
}

func (t *TopN) compile() error {
	if t.compiled {
		return nil
	}
	spec := &t.Spec
	nc := len(spec.InTypes)
	for _, c := range spec.PartitionCols {
		if c < 0 || c >= nc {
			return fmt.Errorf("%w: partition column %d of a %d-column input", ErrTopNSpec, c, nc)
		}
	}
	for _, k := range spec.Order {
		if k.Col < 0 || k.Col >= nc {
			return fmt.Errorf("%w: order column %d of a %d-column input", ErrTopNSpec, k.Col, nc)
		}
	}
	t.outTypes = slices.Clone(spec.InTypes)
	if spec.WithRank {
		t.outTypes = append(t.outTypes, types.BigInt)
	}
	t.parts = make(map[string]*topnPart)
	t.compiled = true
	return nil
}

// OutTypes returns the output column types: the input columns, then the
// BIGINT rank when WithRank (nil when Spec is invalid).
func (t *TopN) OutTypes() []types.Type {
	if t.compile() != nil {
		return nil
	}
	return t.outTypes
}

// Process implements exec.Operator.
func (t *TopN) Process(b *types.Batch, out exec.Collector) error {
	defer b.Release()
	if err := t.compile(); err != nil {
		return err
	}
	if t.Spec.N <= 0 || b.Len() == 0 {
		return nil
	}
	if err := t.checkInput(b); err != nil {
		return err
	}
	if t.Spec.InsertOnly {
		for i, op := range b.Ops {
			if !op.IsAdd() {
				return fmt.Errorf("%w: a %v row (row %d of the batch)", ErrTopNRetraction, op, i)
			}
		}
	}
	t.touched = t.touched[:0]
	for i, op := range b.Ops {
		t.key = state.EncodeKeyColumns(t.key[:0], b, t.Spec.PartitionCols, i)
		p := t.parts[string(t.key)]
		if p == nil {
			if !op.IsAdd() {
				continue // retraction without state: ignored
			}
			p = &topnPart{key: string(t.key)}
			t.parts[p.key] = p
		}
		if !p.touched {
			p.touched = true
			t.touched = append(t.touched, p)
		}
		t.row = b.Row(i, t.row[:0])
		if op.IsAdd() {
			t.add(p)
		} else {
			t.retract(p)
		}
	}
	return t.emit(out)
}

func (t *TopN) checkInput(b *types.Batch) error {
	if len(b.Cols) != len(t.Spec.InTypes) {
		return fmt.Errorf("top-n: %d-column batch, want %d", len(b.Cols), len(t.Spec.InTypes))
	}
	n := b.Len()
	for c := range b.Cols {
		v := &b.Cols[c]
		if v.Type.Class() != t.Spec.InTypes[c].Class() || v.Len() != n {
			return fmt.Errorf("top-n: column %d is %v with %d values, want %v with %d",
				c, v.Type, v.Len(), t.Spec.InTypes[c], n)
		}
	}
	return nil
}

// add inserts t.row into p at its sorted position (after its ties).
func (t *TopN) add(p *topnPart) {
	pos, _ := slices.BinarySearchFunc(p.rows, t.row, func(r topnRow, v []types.Datum) int {
		if c := compareDatumRows(t.Spec.Order, r.vals, v); c != 0 {
			return c
		}
		return -1 // existing ties arrived earlier
	})
	if t.Spec.InsertOnly && int64(pos) >= t.Spec.N {
		return
	}
	r := topnRow{vals: slices.Clone(t.row), seq: t.seq}
	t.seq++
	p.rows = slices.Insert(p.rows, pos, r)
	if t.Spec.InsertOnly && int64(len(p.rows)) > t.Spec.N {
		clear(p.rows[t.Spec.N:])
		p.rows = p.rows[:t.Spec.N]
	}
}

// retract removes the last-arrived row of p equal to t.row, if any.
func (t *TopN) retract(p *topnPart) {
	order := t.Spec.Order
	// Rows with the same Order values are contiguous: [lo, hi).
	lo, _ := slices.BinarySearchFunc(p.rows, t.row, func(r topnRow, v []types.Datum) int {
		if c := compareDatumRows(order, r.vals, v); c != 0 {
			return c
		}
		return 1
	})
	hi, _ := slices.BinarySearchFunc(p.rows, t.row, func(r topnRow, v []types.Datum) int {
		if c := compareDatumRows(order, r.vals, v); c != 0 {
			return c
		}
		return -1
	})
	for k := hi - 1; k >= lo; k-- {
		if state.DatumsEqual(p.rows[k].vals, t.row) {
			p.rows = slices.Delete(p.rows, k, k+1)
			return
		}
	}
}

// emit outputs the changes of the touched partitions and records their
// new top N.
func (t *TopN) emit(out exec.Collector) error {
	var ob *types.Batch
	flush := func() error {
		if ob == nil || ob.Len() == 0 {
			return nil
		}
		b := ob
		ob = nil
		return out.Collect(b)
	}
	appendRow := func(op types.Op, r topnRow, rank int) error {
		if ob != nil && ob.Len() >= types.DefaultBatchSize {
			if err := flush(); err != nil {
				return err
			}
		}
		if ob == nil {
			ob = types.NewBatch(t.outTypes)
		}
		t.row = append(t.row[:0], r.vals...)
		if t.Spec.WithRank {
			t.row = append(t.row, types.IntDatum(int64(rank)))
		}
		ob.AppendRow(op, t.row)
		return nil
	}
	var err error
	for _, p := range t.touched {
		p.touched = false
		if err != nil {
			continue
		}
		top := p.rows[:min(int64(len(p.rows)), t.Spec.N)]
		old := p.emitted
		for k, r := range old {
			if t.Spec.WithRank && (k >= len(top) || top[k].seq != r.seq) ||
				!t.Spec.WithRank && !containsSeq(top, r.seq) {
				if err = appendRow(types.Delete, r, k+1); err != nil {
					break
				}
			}
		}
		for k, r := range top {
			if err != nil {
				break
			}
			if t.Spec.WithRank && (k >= len(old) || old[k].seq != r.seq) ||
				!t.Spec.WithRank && !containsSeq(old, r.seq) {
				err = appendRow(types.Insert, r, k+1)
			}
		}
		p.emitted = append(p.emitted[:0], top...)
		if len(p.rows) == 0 {
			delete(t.parts, p.key)
		}
	}
	t.touched = t.touched[:0]
	if err != nil {
		ob.Release()
		return err
	}
	return flush()
}

func containsSeq(rows []topnRow, seq int64) bool {
	for _, r := range rows {
		if r.seq == seq {
			return true
		}
	}
	return false
}

// Close implements exec.Closer; it drops the in-memory state.
func (t *TopN) Close() error {
	t.parts, t.touched, t.row = nil, nil, nil
	t.compiled = false
	return nil
}

// compareDatumRows orders rows a and b by keys, as compareKeys orders
// batch rows.
func compareDatumRows(keys []SortKey, a, b []types.Datum) int {
	for _, k := range keys {
		if c := compareDatums(&a[k.Col], &b[k.Col], k); c != 0 {
			return c
		}
	}
	return 0
}

func compareDatums(a, b *types.Datum, k SortKey) int {
	if c, done := compareNulls(a.Null, b.Null, k); done {
		return c
	}
	var c int
	switch a.Type.Class() {
	case types.ClassF64:
		c = compareFloat(a.F, b.F)
	case types.ClassStr:
		c = strings.Compare(a.S, b.S)
	default:
		c = cmp.Compare(a.I, b.I)
	}
	if k.Desc {
		c = -c
	}
	return c
}
