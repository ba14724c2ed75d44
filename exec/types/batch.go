package types

import "sync"

// Op is the change operation of a row, as in Flink's RowKind.
type Op uint8

// Change operations.
const (
	Insert       Op = iota // +I
	UpdateBefore           // -U: retracts the previous version of an updated row
	UpdateAfter            // +U: the new version of an updated row
	Delete                 // -D
)

var opNames = [...]string{"+I", "-U", "+U", "-D"}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return "?"
}

// IsAdd reports whether the op adds a row (+I or +U).
func (o Op) IsAdd() bool { return o == Insert || o == UpdateAfter }

// Vector is one column of a batch. Exactly one of I64, F64 and Str is used,
// chosen by Type.Class(); its length equals the batch length. Nulls marks
// NULL rows: row i is NULL when i < len(Nulls) && Nulls[i], so a Nulls
// shorter than the vector (nil or empty in particular) means the rows past
// its end are not NULL. Writers that set a NULL extend Nulls to the vector's
// length first (EnsureNulls).
type Vector struct {
	Type  Type
	Nulls []bool
	I64   []int64
	F64   []float64
	Str   []string
}

// Len returns the number of values in v.
func (v *Vector) Len() int {
	switch v.Type.Class() {
	case ClassF64:
		return len(v.F64)
	case ClassStr:
		return len(v.Str)
	default:
		return len(v.I64)
	}
}

// IsNull reports whether row i is NULL.
func (v *Vector) IsNull(i int) bool { return i < len(v.Nulls) && v.Nulls[i] }

// HasNulls reports whether any row may be NULL (Nulls is non-empty).
func (v *Vector) HasNulls() bool { return len(v.Nulls) > 0 }

// Reset empties v, keeping its capacity, and sets its type.
func (v *Vector) Reset(t Type) {
	v.Type = t
	// Dropping the null slice (rather than keeping its capacity) keeps the
	// invariant simple for writers that test Nulls != nil: a vector with
	// nulls allocates its null slice once per batch, never per row.
	v.Nulls = nil
	v.I64 = v.I64[:0]
	v.F64 = v.F64[:0]
	v.Str = clearStrings(v.Str)
}

func clearStrings(s []string) []string {
	clear(s[:cap(s)][:len(s)])
	return s[:0]
}

// Resize sets the length of v to n; new slots are zero and not NULL.
func (v *Vector) Resize(n int) {
	switch v.Type.Class() {
	case ClassF64:
		v.F64 = growF64(v.F64, n)
	case ClassStr:
		v.Str = growStr(v.Str, n)
	default:
		v.I64 = growI64(v.I64, n)
	}
	if len(v.Nulls) > n {
		v.Nulls = v.Nulls[:n]
	}
}

// SetNull marks row i NULL (allocating the null slice on first use) and
// zeroes its value slot.
func (v *Vector) SetNull(i int) {
	v.EnsureNulls()
	v.Nulls[i] = true
	switch v.Type.Class() {
	case ClassF64:
		v.F64[i] = 0
	case ClassStr:
		v.Str[i] = ""
	default:
		v.I64[i] = 0
	}
}

// EnsureNulls makes Nulls non-nil with the vector's length, all false for new slots.
func (v *Vector) EnsureNulls() {
	if n := v.Len(); len(v.Nulls) < n {
		v.Nulls = growBool(v.Nulls, n)
	}
}

// Append appends d to v. d must be NULL or of v's class.
func (v *Vector) Append(d Datum) {
	n := v.Len()
	switch v.Type.Class() {
	case ClassF64:
		v.F64 = append(v.F64, d.F)
	case ClassStr:
		v.Str = append(v.Str, d.S)
	default:
		v.I64 = append(v.I64, d.I)
	}
	if d.Null {
		v.EnsureNulls()
		v.Nulls[n] = true
		v.zero(n)
	} else if len(v.Nulls) == n && n > 0 {
		v.Nulls = append(v.Nulls, false)
	}
}

func (v *Vector) zero(i int) {
	switch v.Type.Class() {
	case ClassF64:
		v.F64[i] = 0
	case ClassStr:
		v.Str[i] = ""
	default:
		v.I64[i] = 0
	}
}

// Get returns row i as a Datum.
func (v *Vector) Get(i int) Datum {
	if v.IsNull(i) {
		return NullDatum(v.Type)
	}
	switch v.Type.Class() {
	case ClassF64:
		return Datum{Type: v.Type, F: v.F64[i]}
	case ClassStr:
		return Datum{Type: v.Type, S: v.Str[i]}
	default:
		return Datum{Type: v.Type, I: v.I64[i]}
	}
}

// AppendFrom appends row i of src (which must have v's class) to v.
func (v *Vector) AppendFrom(src *Vector, i int) {
	n := v.Len()
	switch v.Type.Class() {
	case ClassF64:
		v.F64 = append(v.F64, src.F64[i])
	case ClassStr:
		v.Str = append(v.Str, src.Str[i])
	default:
		v.I64 = append(v.I64, src.I64[i])
	}
	if src.IsNull(i) {
		v.EnsureNulls()
		v.Nulls[n] = true
	} else if len(v.Nulls) == n && n > 0 {
		v.Nulls = append(v.Nulls, false)
	}
}

// Filter keeps the rows where keep[i] is true, in place.
func (v *Vector) Filter(keep []bool) {
	// Branchless compaction: write every row, advance only past kept ones.
	// Random selections make a branch per row mispredict half the time.
	j := 0
	switch v.Type.Class() {
	case ClassF64:
		s := v.F64
		for i, k := range keep {
			s[j] = s[i]
			j += b2i(k)
		}
		v.F64 = s[:j]
	case ClassStr:
		s := v.Str
		for i, k := range keep {
			s[j] = s[i]
			j += b2i(k)
		}
		clear(s[j:])
		v.Str = s[:j]
	default:
		s := v.I64
		for i, k := range keep {
			s[j] = s[i]
			j += b2i(k)
		}
		v.I64 = s[:j]
	}
	if len(v.Nulls) > 0 {
		nulls := v.Nulls
		if len(nulls) < len(keep) {
			nulls = growBool(nulls, len(keep))
		}
		j = 0
		for i, k := range keep {
			nulls[j] = nulls[i]
			j += b2i(k)
		}
		v.Nulls = nulls[:j]
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func growI64(s []int64, n int) []int64 {
	if cap(s) >= n {
		old := len(s)
		s = s[:n]
		if n > old {
			clear(s[old:])
		}
		return s
	}
	return append(s, make([]int64, n-len(s))...)
}

func growF64(s []float64, n int) []float64 {
	if cap(s) >= n {
		old := len(s)
		s = s[:n]
		if n > old {
			clear(s[old:])
		}
		return s
	}
	return append(s, make([]float64, n-len(s))...)
}

func growStr(s []string, n int) []string {
	if cap(s) >= n {
		old := len(s)
		s = s[:n]
		if n > old {
			clear(s[old:])
		}
		return s
	}
	return append(s, make([]string, n-len(s))...)
}

func growBool(s []bool, n int) []bool {
	if cap(s) >= n {
		old := len(s)
		s = s[:n]
		if n > old {
			clear(s[old:])
		}
		return s
	}
	return append(s, make([]bool, n-len(s))...)
}

// Batch is a group of rows in columnar form with a change op per row.
//
// Ownership: a batch sent on an edge belongs to the receiver; the sender must
// not read or write it afterwards. The receiver may modify it in place, pass
// it on, or return it to the pool with Release.
type Batch struct {
	Ops  []Op
	Cols []Vector
}

// DefaultBatchSize is the number of rows sources put in a batch.
const DefaultBatchSize = 1024

// Len returns the number of rows.
func (b *Batch) Len() int { return len(b.Ops) }

var batchPool = sync.Pool{New: func() any { return new(Batch) }}

// NewBatch returns an empty batch (possibly recycled) with one empty vector per type.
func NewBatch(ts []Type) *Batch {
	b := batchPool.Get().(*Batch)
	b.Reset(ts)
	return b
}

// Reset empties b and gives it one empty vector per type, keeping capacity.
func (b *Batch) Reset(ts []Type) {
	b.Ops = b.Ops[:0]
	if cap(b.Cols) >= len(ts) {
		b.Cols = b.Cols[:len(ts)]
	} else {
		b.Cols = append(b.Cols[:cap(b.Cols)], make([]Vector, len(ts)-cap(b.Cols))...)
	}
	for i := range ts {
		b.Cols[i].Reset(ts[i])
	}
}

// Release returns b to the pool. The caller must not use b afterwards.
func (b *Batch) Release() {
	if b == nil {
		return
	}
	batchPool.Put(b)
}

// AppendRow appends a row given as datums.
func (b *Batch) AppendRow(op Op, row []Datum) {
	b.Ops = append(b.Ops, op)
	for i := range b.Cols {
		b.Cols[i].Append(row[i])
	}
}

// AppendFrom appends row i of src (with the same column types) to b.
func (b *Batch) AppendFrom(src *Batch, i int) {
	b.Ops = append(b.Ops, src.Ops[i])
	for c := range b.Cols {
		b.Cols[c].AppendFrom(&src.Cols[c], i)
	}
}

// Row returns row i as datums, appended to dst.
func (b *Batch) Row(i int, dst []Datum) []Datum {
	for c := range b.Cols {
		dst = append(dst, b.Cols[c].Get(i))
	}
	return dst
}

// Filter keeps the rows where keep[i] is true, in place.
func (b *Batch) Filter(keep []bool) {
	j := 0
	ops := b.Ops
	for i, k := range keep {
		ops[j] = ops[i]
		j += b2i(k)
	}
	b.Ops = ops[:j]
	for c := range b.Cols {
		b.Cols[c].Filter(keep)
	}
}

// Types returns the column types of b.
func (b *Batch) Types() []Type {
	ts := make([]Type, len(b.Cols))
	for i := range b.Cols {
		ts[i] = b.Cols[i].Type
	}
	return ts
}
