package ops

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unsafe"

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
	// CacheEntries bounds the partitions kept decoded in memory by durable
	// keyed state (0: DefaultTopNCacheEntries).
	CacheEntries int
	// StateTTL is table.exec.state.ttl: the state of a partition not
	// accessed for longer may be dropped (see agg_ttl.go), after which the
	// partition starts again from its next row; 0 keeps state forever.
	StateTTL time.Duration
	// Now is the processing-time clock of StateTTL; nil means time.Now.
	Now func() time.Time
}

// DefaultTopNCacheEntries is the default of TopNSpec.CacheEntries. The
// cache is bounded by bytes as well (topnCodec is a state.Sizer, so the
// partitions cached take at most state.DefaultCacheBytes), which is the
// bound that counts for all but tiny partitions.
const DefaultTopNCacheEntries = 1_000_000

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
// State. Per partition (keyed by the partition key's
// state.EncodeKeyColumns encoding), its rows sorted by (Order, arrival),
// the rows last emitted (between batches always the first N rows) and an
// arrival counter. With a state backend (TaskContext.State, see Open)
// partitions live in keyed state under exec.StateNamespace, cached up to
// CacheEntries, in the key group the Hash exchange routes them by
// (exec.KeyGroup of exec.HashColumns over PartitionCols); Snapshot flushes
// them. Otherwise they live in a Go map. A partition whose rows are all
// retracted is removed.
type TopN struct {
	// Spec is the plan; it must not change once the operator is used.
	Spec TopNSpec

	outTypes []types.Type
	parts    map[string]*topnPart         // in-memory state (ks == nil)
	ks       *state.KeyedState[*topnPart] // durable state, from Open
	maxPar   int
	ttl      stateTTL
	compiled bool

	// Per-batch scratch, reused.
	key     []byte
	hashes  []uint64
	batch   map[string]*topnPart // partitions of the batch (keyed state)
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
	kg      int       // key group (keyed state)
	rows    []topnRow // sorted by (Order, seq)
	emitted []topnRow // the top N as last emitted; rank = index + 1
	next    int64     // seq of the next row
	access  int64     // last access, processing time in ms (with a state TTL)
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
	t.batch = make(map[string]*topnPart)
	t.maxPar = state.DefaultMaxParallelism
	t.ttl = newStateTTL(spec.StateTTL, spec.Now, nil)
	t.compiled = true
	return nil
}

// Open implements exec.Opener: with a state backend (tc.State) partitions
// are kept in keyed state, else in memory.
func (t *TopN) Open(tc *exec.TaskContext) error {
	if err := t.compile(); err != nil {
		return err
	}
	if tc.MaxParallelism > 0 {
		t.maxPar = tc.MaxParallelism
	}
	t.ttl = newStateTTL(t.Spec.StateTTL, t.Spec.Now, tc)
	if tc.State == nil {
		return nil
	}
	cache := t.Spec.CacheEntries
	if cache <= 0 {
		cache = DefaultTopNCacheEntries
	}
	t.ks = state.NewKeyedState[*topnPart](tc.State, exec.StateNamespace(tc),
		&topnCodec{types: t.Spec.InTypes, n: t.Spec.N}, cache)
	if tc.Epoch != nil {
		t.ks.SetEpoch(tc.Epoch)
	}
	return nil
}

// Snapshot implements exec.Snapshotter: it flushes the partitions kept in
// keyed state, after deleting the expired ones of a few key groups (with a
// StateTTL).
func (t *TopN) Snapshot(id int64) ([]byte, error) {
	if t.ks == nil {
		return nil, nil
	}
	if _, err := sweepKeyed(&t.ttl, t.ks, func(p *topnPart) int64 { return p.access }); err != nil {
		return nil, fmt.Errorf("top-n: snapshot %d: %w", id, err)
	}
	if err := t.ks.Flush(); err != nil {
		return nil, fmt.Errorf("top-n: snapshot %d: %w", id, err)
	}
	return nil, nil
}

// partition returns the state of the partition of key (hash h), nil when
// it has none (or its state expired, which is then deleted).
func (t *TopN) partition(key []byte, h uint64, now int64) (*topnPart, error) {
	if t.ks == nil {
		p := t.parts[string(key)]
		if p != nil && t.ttl.expired(p.access, now) {
			delete(t.parts, p.key)
			p = nil
		}
		return p, nil
	}
	if p := t.batch[string(key)]; p != nil {
		return p, nil
	}
	kg := exec.KeyGroup(h, t.maxPar)
	p, ok, err := t.ks.Get(kg, key)
	if err != nil {
		return nil, fmt.Errorf("top-n: read state: %w", err)
	}
	if !ok {
		return nil, nil
	}
	if t.ttl.expired(p.access, now) {
		if err := t.ks.Delete(kg, key); err != nil {
			return nil, fmt.Errorf("top-n: delete expired state: %w", err)
		}
		return nil, nil
	}
	p.key, p.kg = string(key), kg
	t.batch[p.key] = p
	return p, nil
}

// newPartition adds an empty partition for key (hash h).
func (t *TopN) newPartition(key []byte, h uint64) *topnPart {
	p := &topnPart{key: string(key)}
	if t.ks == nil {
		t.parts[p.key] = p
	} else {
		p.kg = exec.KeyGroup(h, t.maxPar)
		t.batch[p.key] = p
	}
	return p
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
	if t.ks != nil {
		t.hashes = exec.HashColumns(b, t.Spec.PartitionCols, t.hashes)
	}
	var now int64
	if t.ttl.enabled() {
		now = t.ttl.stamp()
	}
	for i, op := range b.Ops {
		t.key = state.EncodeKeyColumns(t.key[:0], b, t.Spec.PartitionCols, i)
		var h uint64
		if t.ks != nil {
			h = t.hashes[i]
		}
		p, err := t.partition(t.key, h, now)
		if err != nil {
			return err
		}
		if p == nil {
			if !op.IsAdd() {
				continue // retraction without state: ignored
			}
			p = t.newPartition(t.key, h)
		}
		p.access = now
		if !p.touched {
			p.touched = true
			t.touched = append(t.touched, p)
		}
		if t.Spec.InsertOnly && int64(len(p.rows)) >= t.Spec.N && !t.entersFull(p, b, i) {
			continue // no change: the row would rank below the N kept
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
	r := topnRow{vals: slices.Clone(t.row), seq: p.next}
	p.next++
	p.rows = slices.Insert(p.rows, pos, r)
	if t.Spec.InsertOnly && int64(len(p.rows)) > t.Spec.N {
		clear(p.rows[t.Spec.N:])
		p.rows = p.rows[:t.Spec.N]
	}
}

// entersFull reports whether row i of b would enter p's top N when p holds
// N rows already (insert-only): whether it orders strictly before the last
// of them (a tie arrived later and ranks after). It reads only the order
// columns, so that the rows that do not enter, most of them in a Top-1 over
// a busy partition (Nexmark q9), are not copied out of the batch.
func (t *TopN) entersFull(p *topnPart, b *types.Batch, i int) bool {
	last := p.rows[len(p.rows)-1].vals
	for _, k := range t.Spec.Order {
		d := b.Cols[k.Col].Get(i)
		if c := compareDatums(&last[k.Col], &d, k); c != 0 {
			return c > 0
		}
	}
	return false
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
		if err == nil {
			err = t.store(p)
		}
	}
	t.touched = t.touched[:0]
	clear(t.batch)
	if err != nil {
		ob.Release()
		return err
	}
	return flush()
}

// store writes partition p back after a batch, or removes it when it has
// no rows left.
func (t *TopN) store(p *topnPart) error {
	switch {
	case t.ks == nil:
		if len(p.rows) == 0 {
			delete(t.parts, p.key)
		}
		return nil
	case len(p.rows) == 0:
		if err := t.ks.Delete(p.kg, []byte(p.key)); err != nil {
			return fmt.Errorf("top-n: write state: %w", err)
		}
	default:
		if err := t.ks.Put(p.kg, []byte(p.key), p); err != nil {
			return fmt.Errorf("top-n: write state: %w", err)
		}
	}
	return nil
}

// topnCodec encodes a partition for keyed state:
//
//	byte     format version (1)
//	varint   last access, processing time in ms (see agg_ttl.go)
//	varint   seq of the next row
//	uvarint  number of rows
//	per row  varint seq, uvarint length, state.EncodeRow of its values
//
// in (Order, seq) order. The rows last emitted are not stored: between
// batches they are the first N rows.
type topnCodec struct {
	types []types.Type
	n     int64
	buf   []byte
}

const topnFormat = 1

// Encode implements state.Codec.
func (c *topnCodec) Encode(dst []byte, p *topnPart) []byte {
	dst = append(dst, topnFormat)
	dst = binary.AppendVarint(dst, p.access)
	dst = binary.AppendVarint(dst, p.next)
	dst = binary.AppendUvarint(dst, uint64(len(p.rows)))
	for _, r := range p.rows {
		dst = binary.AppendVarint(dst, r.seq)
		c.buf = state.EncodeRow(c.buf[:0], r.vals)
		dst = binary.AppendUvarint(dst, uint64(len(c.buf)))
		dst = append(dst, c.buf...)
	}
	return dst
}

// Decode implements state.Codec.
func (c *topnCodec) Decode(b []byte) (*topnPart, error) {
	bad := func(what string) error { return fmt.Errorf("top-n state: %w: bad %s", state.ErrCorrupt, what) }
	if len(b) == 0 || b[0] != topnFormat {
		return nil, bad("format version")
	}
	b = b[1:]
	p := &topnPart{}
	var k int
	if p.access, k = binary.Varint(b); k <= 0 {
		return nil, bad("access time")
	}
	b = b[k:]
	if p.next, k = binary.Varint(b); k <= 0 {
		return nil, bad("sequence")
	}
	b = b[k:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, bad("row count")
	}
	b = b[k:]
	p.rows = make([]topnRow, 0, n)
	for range n {
		seq, k := binary.Varint(b)
		if k <= 0 {
			return nil, bad("row sequence")
		}
		b = b[k:]
		size, k := binary.Uvarint(b)
		if k <= 0 || size > uint64(len(b)-k) {
			return nil, bad("row length")
		}
		b = b[k:]
		vals, err := state.DecodeRow(b[:size], c.types, nil)
		if err != nil {
			return nil, fmt.Errorf("top-n state: %w", err)
		}
		b = b[size:]
		p.rows = append(p.rows, topnRow{vals: vals, seq: seq})
	}
	if len(b) != 0 {
		return nil, bad("trailing bytes")
	}
	p.emitted = slices.Clone(p.rows[:min(int64(len(p.rows)), max(c.n, 0))])
	return p, nil
}

// Size implements state.Sizer: the memory of a decoded partition (its
// structs, rows, datums and string bytes; emitted shares the rows' values).
func (c *topnCodec) Size(p *topnPart) int {
	const datum = int(unsafe.Sizeof(types.Datum{}))
	const row = int(unsafe.Sizeof(topnRow{}))
	n := int(unsafe.Sizeof(topnPart{})) + len(p.key) + row*(cap(p.rows)+cap(p.emitted))
	for _, r := range p.rows {
		n += datum * cap(r.vals)
		for i := range r.vals {
			n += len(r.vals[i].S)
		}
	}
	return n
}

func containsSeq(rows []topnRow, seq int64) bool {
	for _, r := range rows {
		if r.seq == seq {
			return true
		}
	}
	return false
}

// Close implements exec.Closer; it drops the in-memory state and keeps the
// durable state (the job may be restored from it).
func (t *TopN) Close() error {
	t.parts, t.touched, t.row, t.ks, t.batch = nil, nil, nil, nil, nil
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

var (
	_ exec.Opener      = (*TopN)(nil)
	_ exec.Snapshotter = (*TopN)(nil)
	_ exec.Closer      = (*TopN)(nil)
)
