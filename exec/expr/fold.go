package expr

import (
	"sync"

	"github.com/sluicesql/sluice/exec/types"
)

// IsConst reports whether e reads no column and calls no volatile function
// (NOW(), CURRENT_DATE...), so its value is the same for every row.
// Expressions from other packages are not constant.
func IsConst(e Expr) bool {
	switch x := e.(type) {
	case *litExpr:
		return true
	case *colExpr:
		return false
	case node:
		if v, ok := e.(volatileNode); ok && v.volatile() {
			return false
		}
		for _, c := range x.children() {
			if c != nil && !IsConst(c) {
				return false
			}
		}
		return true
	}
	return false
}

// Fold replaces every constant subtree of e by a literal, evaluating it on a
// one-row batch. An evaluation error (for example an overflow in 1 << 63
// arithmetic) is returned, so it is reported when the query is planned. The
// children of non-constant nodes are replaced in place.
func Fold(e Expr) (Expr, error) {
	if _, ok := e.(*litExpr); ok {
		return e, nil
	}
	if IsConst(e) {
		d, err := evalConst(e)
		if err != nil {
			return nil, err
		}
		return Lit(d), nil
	}
	if x, ok := e.(node); ok {
		cs := x.children()
		for i, c := range cs {
			if c == nil {
				continue
			}
			f, err := Fold(c)
			if err != nil {
				return nil, err
			}
			cs[i] = f
		}
	}
	return e, nil
}

// evalConst evaluates a constant expression on a one-row, zero-column batch.
func evalConst(e Expr) (types.Datum, error) {
	b := &types.Batch{Ops: []types.Op{types.Insert}}
	var out types.Vector
	if err := e.Eval(b, &out); err != nil {
		return types.Datum{}, err
	}
	d := out.Get(0)
	d.Type = e.Type()
	return d, nil
}

// EvalRow evaluates e for a single row given as datums (the row's datum
// types are the column types). It is a convenience outside the hot path.
func EvalRow(e Expr, row []types.Datum) (types.Datum, error) {
	b := &types.Batch{Ops: []types.Op{types.Insert}, Cols: make([]types.Vector, len(row))}
	for i, d := range row {
		b.Cols[i].Reset(d.Type)
		b.Cols[i].Append(d)
	}
	var out types.Vector
	if err := e.Eval(b, &out); err != nil {
		return types.Datum{}, err
	}
	d := out.Get(0)
	d.Type = e.Type()
	return d, nil
}

var filterBufs = sync.Pool{New: func() any { return new(types.Vector) }}

// Filter computes the selection of b by predicate e into keep (grown or
// reused) and returns it: keep[i] is true when e is TRUE for row i. NULL is
// false; a numeric predicate is true when nonzero.
func Filter(e Expr, b *types.Batch, keep []bool) ([]bool, error) {
	n := b.Len()
	if cap(keep) >= n {
		keep = keep[:n]
	} else {
		keep = make([]bool, n)
	}
	buf := filterBufs.Get().(*types.Vector)
	defer filterBufs.Put(buf)
	v, err := evalArg(e, b, buf)
	if err != nil {
		return keep, err
	}
	switch v.Type.Class() {
	case types.ClassF64:
		for i, f := range v.F64[:n] {
			keep[i] = f != 0
		}
	case types.ClassStr:
		// Strings are truthy when they parse as a nonzero number (MySQL).
		for i, s := range v.Str[:n] {
			f, ok := parseFloat(s)
			keep[i] = ok && f != 0
		}
	default:
		for i, x := range v.I64[:n] {
			keep[i] = x != 0
		}
	}
	if nulls := nullsOf(v, n); nulls != nil {
		for i, isNull := range nulls {
			if isNull {
				keep[i] = false
			}
		}
	}
	if v.Type.Kind == types.KindNull {
		clear(keep)
	}
	return keep, nil
}
