package ops

import (
	"fmt"

	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/types"
)

// Join output. Rows are appended column by column to one pending batch,
// which is sent once it holds types.DefaultBatchSize rows and at the end of
// every ProcessInput. Pairs of one input row with the matching rows of a
// state entry are gathered in one pass per column.

// outBatch returns the pending output batch, creating it if needed.
func (j *Join) outBatch() *types.Batch {
	if j.out == nil {
		j.out = types.NewBatch(j.outTypes)
	}
	return j.out
}

// flush sends the pending output batch, if any.
func (j *Join) flush() error {
	if j.out == nil || j.out.Len() == 0 {
		return nil
	}
	b := j.out
	j.out = nil
	return j.coll.Collect(b)
}

// flushIfFull sends the pending batch once it is full.
func (j *Join) flushIfFull() error {
	if j.out.Len() >= types.DefaultBatchSize {
		return j.flush()
	}
	return nil
}

// sideCols returns side s's columns of the output batch, or nil for the
// right side of a semi or anti join.
func (j *Join) sideCols(out *types.Batch, s int) []types.Vector {
	if s == 1 && j.semiAnti {
		return nil
	}
	sd := &j.sides[s]
	return out.Cols[sd.off : sd.off+len(sd.lay.types)]
}

func appendOps(out *types.Batch, op types.Op, n int) {
	for range n {
		out.Ops = append(out.Ops, op)
	}
}

// emitInput emits row i of input in with the other side NULL (outer joins)
// or alone (semi and anti joins, left input).
func (j *Join) emitInput(op types.Op, in int, b *types.Batch, i int) error {
	out := j.outBatch()
	appendOps(out, op, 1)
	l := &j.sides[in].lay
	cols := j.sideCols(out, in)
	for c := range cols {
		joinAppendVector(&cols[c], &b.Cols[c], l.class[c], i, 1)
	}
	ol := &j.sides[1-in].lay
	cols = j.sideCols(out, 1-in)
	for c := range cols {
		joinAppendNulls(&cols[c], ol.class[c], 1)
	}
	return j.flushIfFull()
}

// emitStored emits, for each row r of rows, count(r) copies of the stored
// row r of side s's entry e, with the other side NULL (or alone for the
// left side of semi and anti joins).
func (j *Join) emitStored(op types.Op, s int, e *joinRows, rows []int32) error {
	l, ol := &j.sides[s].lay, &j.sides[1-s].lay
	rows = j.expand(l, e, rows)
	for len(rows) > 0 {
		out := j.outBatch()
		n := min(len(rows), max(types.DefaultBatchSize-out.Len(), 1))
		part := rows[:n]
		rows = rows[n:]
		appendOps(out, op, n)
		cols := j.sideCols(out, s)
		for c := range cols {
			e.gather(l, &cols[c], c, part)
		}
		cols = j.sideCols(out, 1-s)
		for c := range cols {
			joinAppendNulls(&cols[c], ol.class[c], n)
		}
		if err := j.flushIfFull(); err != nil {
			return err
		}
	}
	return nil
}

// emitJoined emits, for each row r of rows, count(r) copies of the pair of
// row i of input in with the stored row r of the other side's entry e.
func (j *Join) emitJoined(op types.Op, in int, b *types.Batch, i int, e *joinRows, rows []int32) error {
	l, ol := &j.sides[in].lay, &j.sides[1-in].lay
	rows = j.expand(ol, e, rows)
	for len(rows) > 0 {
		out := j.outBatch()
		n := min(len(rows), max(types.DefaultBatchSize-out.Len(), 1))
		part := rows[:n]
		rows = rows[n:]
		appendOps(out, op, n)
		cols := j.sideCols(out, in)
		for c := range cols {
			joinAppendVector(&cols[c], &b.Cols[c], l.class[c], i, n)
		}
		cols = j.sideCols(out, 1-in)
		for c := range cols {
			e.gather(ol, &cols[c], c, part)
		}
		if err := j.flushIfFull(); err != nil {
			return err
		}
	}
	return nil
}

// expand returns rows with each row r repeated count(r) times: rows itself
// when every count is 1, else a scratch slice.
func (j *Join) expand(l *joinLayout, e *joinRows, rows []int32) []int32 {
	total := 0
	for _, r := range rows {
		total += int(e.count(l, int(r)))
	}
	if total == len(rows) {
		return rows
	}
	exp := j.exp[:0]
	for _, r := range rows {
		for range e.count(l, int(r)) {
			exp = append(exp, r)
		}
	}
	j.exp = exp
	return exp
}

// nullKeyRow handles row i of input in, which has a NULL key and so no
// match: only outer sides (padded) and anti joins (the left row) emit it.
func (j *Join) nullKeyRow(in int, b *types.Batch, i int, add bool) error {
	op := types.Insert
	if !add {
		op = types.Delete
	}
	switch {
	case j.semiAnti:
		if in == 0 && j.Spec.Type == AntiJoin {
			return j.emitInput(op, in, b, i)
		}
	case j.sides[in].outer:
		return j.emitInput(op, in, b, i)
	}
	return nil
}

// matching returns the rows of the other side's entry e that join with row
// i of input in: all of them without a residual, else those for which the
// residual, evaluated over the concatenated rows, is TRUE. The result is
// scratch space, valid until the next call.
func (j *Join) matching(in int, b *types.Batch, i int, e *joinRows) ([]int32, error) {
	for len(j.iota) < e.n {
		j.iota = append(j.iota, int32(len(j.iota)))
	}
	all := j.iota[:e.n]
	if j.Spec.Residual == nil {
		return all, nil
	}
	if j.cand == nil {
		j.cand = types.NewBatch(j.candTypes)
	}
	cand := j.cand
	cand.Reset(j.candTypes)
	appendOps(cand, types.Insert, e.n)
	inOff, otOff := 0, j.nLeft
	if in == 1 {
		inOff, otOff = j.nLeft, 0
	}
	l, ol := &j.sides[in].lay, &j.sides[1-in].lay
	for c := range l.types {
		joinAppendVector(&cand.Cols[inOff+c], &b.Cols[c], l.class[c], i, e.n)
	}
	for c := range ol.types {
		e.gather(ol, &cand.Cols[otOff+c], c, all)
	}
	keep, err := expr.Filter(j.Spec.Residual, cand, j.keep)
	j.keep = keep
	if err != nil {
		return nil, fmt.Errorf("join condition %s: %w", j.Spec.Residual, err)
	}
	sel := j.sel[:0]
	for r, k := range keep {
		if k {
			sel = append(sel, int32(r))
		}
	}
	j.sel = sel
	return sel, nil
}

// Vector helpers. They keep the invariant that an output vector's NULL
// slice is nil or as long as its values.

func joinVecLen(v *types.Vector, c types.Class) int {
	switch c {
	case types.ClassF64:
		return len(v.F64)
	case types.ClassStr:
		return len(v.Str)
	}
	return len(v.I64)
}

// joinGrowNulls extends nulls with false up to length n.
func joinGrowNulls(nulls []bool, n int) []bool {
	if len(nulls) < n {
		nulls = append(nulls, make([]bool, n-len(nulls))...)
	}
	return nulls
}

// joinAppendVector appends copies of row i of src to dst (same class).
func joinAppendVector(dst, src *types.Vector, c types.Class, i, copies int) {
	n := joinVecLen(dst, c)
	null := src.IsNull(i)
	switch c {
	case types.ClassF64:
		x := src.F64[i]
		for range copies {
			dst.F64 = append(dst.F64, x)
		}
	case types.ClassStr:
		x := src.Str[i]
		for range copies {
			dst.Str = append(dst.Str, x)
		}
	default:
		x := src.I64[i]
		for range copies {
			dst.I64 = append(dst.I64, x)
		}
	}
	joinAppendNullFlags(dst, n, null, copies)
}

// joinAppendNulls appends copies NULLs to dst.
func joinAppendNulls(dst *types.Vector, c types.Class, copies int) {
	n := joinVecLen(dst, c)
	switch c {
	case types.ClassF64:
		for range copies {
			dst.F64 = append(dst.F64, 0)
		}
	case types.ClassStr:
		for range copies {
			dst.Str = append(dst.Str, "")
		}
	default:
		for range copies {
			dst.I64 = append(dst.I64, 0)
		}
	}
	joinAppendNullFlags(dst, n, true, copies)
}

// joinAppendNullFlags extends dst.Nulls after copies values were appended at
// rows n.., which are NULL when null is set. Nulls stays nil while no row is
// NULL; once allocated it is kept as long as the values.
func joinAppendNullFlags(dst *types.Vector, n int, null bool, copies int) {
	if !null && dst.Nulls == nil {
		return
	}
	dst.Nulls = joinGrowNulls(dst.Nulls, n)
	for range copies {
		dst.Nulls = append(dst.Nulls, null)
	}
}
