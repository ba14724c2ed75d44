package expr

import "github.com/sluicesql/sluice/exec/types"

// Columns returns the input column indexes e reads, each once, in first-use
// order.
func Columns(e Expr) []int {
	var out []int
	seen := map[int]bool{}
	var walk func(Expr)
	walk = func(e Expr) {
		switch x := e.(type) {
		case *colExpr:
			if !seen[x.idx] {
				seen[x.idx] = true
				out = append(out, x.idx)
			}
		case node:
			for _, c := range x.children() {
				if c != nil {
					walk(c)
				}
			}
		}
	}
	walk(e)
	return out
}

// Deterministic reports whether e gives the same result for the same input
// row every time (no NOW(), CURRENT_TIMESTAMP, ...). Expressions from other
// packages are assumed not to be.
func Deterministic(e Expr) bool {
	switch x := e.(type) {
	case *colExpr, *litExpr:
		return true
	case node:
		if v, ok := e.(volatileNode); ok && v.volatile() {
			return false
		}
		for _, c := range x.children() {
			if c != nil && !Deterministic(c) {
				return false
			}
		}
		return true
	}
	return false
}

// Substitute returns a copy of e in which every column reference $i is
// replaced by a copy of by[i]: the composition of e over a projection by.
// by[i] must have the referenced column's kind (and DECIMAL scale), since
// operators chose their kernels for that type; lengths, precisions and
// nullability may differ.
func Substitute(e Expr, by []Expr) (Expr, error) {
	return rewriteCols(e.Clone(), func(c *colExpr) (Expr, error) {
		if c.idx < 0 || c.idx >= len(by) {
			return nil, newErr(ErrEval, "substitute: column $%d beyond %d expressions", c.idx, len(by))
		}
		if rt := by[c.idx].Type(); rt.Kind != c.t.Kind || (rt.Kind == types.KindDecimal && rt.Scale != c.t.Scale) {
			return nil, newErr(ErrType, "substitute: column $%d is %s but its replacement is %s", c.idx, c.t, rt)
		}
		return by[c.idx].Clone(), nil
	})
}

// Remap returns a copy of e in which column $i reads column m[i] instead;
// m[i] < 0 means the column is gone, which is an error.
func Remap(e Expr, m []int) (Expr, error) {
	return rewriteCols(e.Clone(), func(c *colExpr) (Expr, error) {
		if c.idx < 0 || c.idx >= len(m) || m[c.idx] < 0 {
			return nil, newErr(ErrEval, "remap: column $%d is not available", c.idx)
		}
		cp := *c
		cp.idx = m[c.idx]
		return &cp, nil
	})
}

// rewriteCols replaces the column references of e (which the caller owns)
// in place, using the children slices as Fold does.
func rewriteCols(e Expr, f func(*colExpr) (Expr, error)) (Expr, error) {
	switch x := e.(type) {
	case *colExpr:
		return f(x)
	case node:
		cs := x.children()
		for i, c := range cs {
			if c == nil {
				continue
			}
			r, err := rewriteCols(c, f)
			if err != nil {
				return nil, err
			}
			cs[i] = r
		}
	}
	return e, nil
}

// Conjuncts splits e into the operands of its top-level ANDs.
func Conjuncts(e Expr) []Expr {
	if l, ok := e.(*logicExpr); ok && l.op == opAnd {
		return append(Conjuncts(l.args[0]), Conjuncts(l.args[1])...)
	}
	return []Expr{e}
}

// Equality reports whether e is the comparison l = r and returns its
// operands.
func Equality(e Expr) (l, r Expr, ok bool) {
	c, isCmp := e.(*cmpExpr)
	if !isCmp || c.op != opEQ {
		return nil, nil, false
	}
	return c.args[0], c.args[1], true
}

// Comparison reports whether e is a comparison l op r and returns its
// operator symbol (=, <>, <, <=, >, >=, <=>) and operands.
func Comparison(e Expr) (op string, l, r Expr, ok bool) {
	c, isCmp := e.(*cmpExpr)
	if !isCmp {
		return "", nil, nil, false
	}
	return cmpSyms[c.op], c.args[0], c.args[1], true
}
