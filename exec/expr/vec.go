package expr

import (
	"github.com/sluicesql/sluice/exec/types"
)

// node is implemented by every Expr of this package. children returns the
// node's own argument slice (Fold replaces folded children in place).
type node interface {
	Expr
	children() []Expr
}

// volatileNode marks expressions whose value changes between evaluations
// (NOW(), CURRENT_DATE): never folded.
type volatileNode interface {
	volatile() bool
}

// prepare resets out to type t and length n with no NULLs.
func prepare(out *types.Vector, t types.Type, n int) {
	out.Reset(t)
	out.Resize(n)
	if out.Nulls != nil {
		// Resize kept a non-nil (all false) null slice: fine, but keep it
		// exactly n long.
		out.Nulls = out.Nulls[:n]
	}
}

// nullsOf returns v's null flags when v has any and they cover n rows.
func nullsOf(v *types.Vector, n int) []bool {
	if len(v.Nulls) >= n && n > 0 {
		return v.Nulls[:n]
	}
	return nil
}

// ensureNulls makes out.Nulls n long (new entries false) and returns it.
func ensureNulls(out *types.Vector, n int) []bool {
	if len(out.Nulls) < n {
		out.EnsureNulls()
	}
	return out.Nulls[:n]
}

// unionNulls marks out NULL wherever a or b (either may be nil) is NULL.
// It reports whether any row of the inputs was NULL.
func unionNulls(out *types.Vector, n int, a, b *types.Vector) bool {
	var an, bn []bool
	if a != nil {
		an = nullsOf(a, n)
	}
	if b != nil {
		bn = nullsOf(b, n)
	}
	if an == nil && bn == nil {
		return false
	}
	on := ensureNulls(out, n)
	switch {
	case an != nil && bn != nil:
		for i := range on {
			on[i] = on[i] || an[i] || bn[i]
		}
	case an != nil:
		for i := range on {
			on[i] = on[i] || an[i]
		}
	default:
		for i := range on {
			on[i] = on[i] || bn[i]
		}
	}
	return true
}

// unionNullsN marks out NULL wherever any input is NULL.
func unionNullsN(out *types.Vector, n int, ins []*types.Vector) bool {
	any := false
	for _, v := range ins {
		vn := nullsOf(v, n)
		if vn == nil {
			continue
		}
		on := ensureNulls(out, n)
		for i := range on {
			on[i] = on[i] || vn[i]
		}
		any = true
	}
	return any
}

// zeroNullSlots sets the value slot of every NULL row of v to the zero value.
func zeroNullSlots(v *types.Vector) {
	nulls := v.Nulls
	switch v.Type.Class() {
	case types.ClassF64:
		vals := v.F64
		for i, isNull := range nulls {
			if isNull && i < len(vals) {
				vals[i] = 0
			}
		}
	case types.ClassStr:
		vals := v.Str
		for i, isNull := range nulls {
			if isNull && i < len(vals) {
				vals[i] = ""
			}
		}
	default:
		vals := v.I64
		for i, isNull := range nulls {
			if isNull && i < len(vals) {
				vals[i] = 0
			}
		}
	}
}

// evalArg evaluates e over b. Column references and literals are returned
// without copying (the column of b itself, or the literal's cached
// broadcast); other expressions are evaluated into buf.
func evalArg(e Expr, b *types.Batch, buf *types.Vector) (*types.Vector, error) {
	switch x := e.(type) {
	case *colExpr:
		return x.column(b)
	case *litExpr:
		return x.broadcast(b.Len()), nil
	}
	if err := e.Eval(b, buf); err != nil {
		return nil, err
	}
	if _, own := e.(node); !own && (buf.Len() != b.Len() || buf.Type.Class() != e.Type().Class()) {
		// An expression from another package broke the Eval contract.
		return nil, newErr(ErrEval, "%s produced %d %s values for %d rows of %s",
			e.String(), buf.Len(), buf.Type, b.Len(), e.Type())
	}
	return buf, nil
}

// copyVector copies n rows of src into out with type t (same class).
func copyVector(out *types.Vector, src *types.Vector, t types.Type, n int) {
	out.Reset(t)
	switch t.Class() {
	case types.ClassF64:
		out.F64 = append(out.F64, src.F64[:n]...)
	case types.ClassStr:
		out.Str = append(out.Str, src.Str[:n]...)
	default:
		out.I64 = append(out.I64, src.I64[:n]...)
	}
	if sn := nullsOf(src, n); sn != nil {
		out.Nulls = append(out.Nulls[:0], sn...)
	} else if out.Nulls != nil {
		out.Nulls = growFalse(out.Nulls, n)
	}
}

func growFalse(s []bool, n int) []bool {
	if cap(s) >= n {
		s = s[:n]
		clear(s)
		return s
	}
	return make([]bool, n)
}

// vectorOf returns a vector of type t holding the datums ds (NULLs kept).
func vectorOf(t types.Type, ds ...types.Datum) types.Vector {
	var v types.Vector
	v.Reset(t)
	for _, d := range ds {
		d.Type = t
		v.Append(d)
	}
	return v
}

func cloneAll(es []Expr) []Expr {
	out := make([]Expr, len(es))
	for i, e := range es {
		if e != nil {
			out[i] = e.Clone()
		}
	}
	return out
}
