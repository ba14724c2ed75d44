package expr

import (
	"github.com/sluicesql/sluice/exec/types"
)

type logicOp uint8

const (
	opAnd logicOp = iota
	opOr
	opXor
)

var logicSyms = [...]string{opAnd: "AND", opOr: "OR", opXor: "XOR"}

// toBool converts a logic operand to BOOLEAN: numbers are true when
// nonzero; NULL stays NULL. Strings and temporal values are type errors.
func toBool(op string, e Expr) (Expr, error) {
	t := e.Type()
	switch {
	case t.Kind == types.KindBool:
		return e, nil
	case isNull(t) || isNumeric(t):
		return implicitCast(e, types.Bool)
	}
	return nil, typeErr("cannot apply '%s' to %s", op, t.Kind)
}

// logicExpr is AND, OR or XOR with SQL three-valued logic.
type logicExpr struct {
	op   logicOp
	args []Expr
	bufs [2]types.Vector
}

func (*logicExpr) isOperator() {}

func newLogic(op logicOp, l, r Expr) (Expr, error) {
	sym := logicSyms[op]
	if !(isBoolish(l.Type()) && isBoolish(r.Type())) {
		return nil, typeErr("cannot apply '%s' to %s and %s", sym, l.Type().Kind, r.Type().Kind)
	}
	l, err := toBool(sym, l)
	if err != nil {
		return nil, err
	}
	if r, err = toBool(sym, r); err != nil {
		return nil, err
	}
	return &logicExpr{op: op, args: []Expr{l, r}}, nil
}

func isBoolish(t types.Type) bool { return t.Kind == types.KindBool || isNull(t) || isNumeric(t) }

// And returns l AND r.
func And(l, r Expr) (Expr, error) { return newLogic(opAnd, l, r) }

// Or returns l OR r.
func Or(l, r Expr) (Expr, error) { return newLogic(opOr, l, r) }

func (e *logicExpr) Type() types.Type { return types.Bool }
func (e *logicExpr) children() []Expr { return e.args }
func (e *logicExpr) Clone() Expr      { return &logicExpr{op: e.op, args: cloneAll(e.args)} }
func (e *logicExpr) String() string {
	return paren(e.args[0]) + " " + logicSyms[e.op] + " " + paren(e.args[1])
}

func (e *logicExpr) Eval(b *types.Batch, out *types.Vector) error {
	n := b.Len()
	l, err := evalArg(e.args[0], b, &e.bufs[0])
	if err != nil {
		return err
	}
	r, err := evalArg(e.args[1], b, &e.bufs[1])
	if err != nil {
		// The right side failed on some row: evaluate it again only on the
		// rows the left side does not decide (AND: not FALSE, OR: not TRUE),
		// so `b <> 0 AND a / b > 1`-style guards work.
		if e.op == opXor {
			return err
		}
		decided := int64(0) // AND: FALSE decides
		if e.op == opOr {
			decided = 1
		}
		ln := nullsOf(l, n)
		mask := make([]bool, n)
		for i, v := range l.I64[:n] {
			mask[i] = (ln != nil && ln[i]) || v != decided
		}
		if r, err = evalSubset(e.args[1], b, mask, &e.bufs[1]); err != nil {
			return err
		}
	}
	prepare(out, types.Bool, n)
	o := out.I64[:n]
	x, y := l.I64[:n], r.I64[:n]
	ln, rn := nullsOf(l, n), nullsOf(r, n)
	switch e.op {
	case opAnd:
		for i := range o {
			o[i] = x[i] & y[i]
		}
	case opOr:
		for i := range o {
			o[i] = x[i] | y[i]
		}
	case opXor:
		for i := range o {
			o[i] = x[i] ^ y[i]
		}
	}
	if ln == nil && rn == nil {
		return nil
	}
	nulls := ensureNulls(out, n)
	for i := range o {
		a, b := ln != nil && ln[i], rn != nil && rn[i]
		if !a && !b {
			continue
		}
		switch e.op {
		case opAnd:
			// FALSE AND NULL = FALSE; otherwise NULL.
			if (!a && x[i] == 0) || (!b && y[i] == 0) {
				o[i] = 0
				continue
			}
		case opOr:
			if (!a && x[i] == 1) || (!b && y[i] == 1) {
				o[i] = 1
				continue
			}
		}
		nulls[i] = true
		o[i] = 0
	}
	return nil
}

// evalSubset evaluates e on the rows of b where mask is true (copying
// them into a new batch) and scatters the results into a vector of b's
// length whose other rows are NULL. It is the slow path taken when a
// vectorized evaluation failed on rows that a guard excludes.
func evalSubset(e Expr, b *types.Batch, mask []bool, out *types.Vector) (*types.Vector, error) {
	n := b.Len()
	sub := &types.Batch{Cols: make([]types.Vector, len(b.Cols))}
	for c := range b.Cols {
		sub.Cols[c].Reset(b.Cols[c].Type)
	}
	for i := 0; i < n; i++ {
		if mask[i] {
			sub.AppendFrom(b, i)
		}
	}
	var res types.Vector
	v, err := evalArg(e, sub, &res)
	if err != nil {
		return nil, err
	}
	res = *v
	t := e.Type()
	prepare(out, t, n)
	nulls := ensureNulls(out, n)
	j := 0
	for i := 0; i < n; i++ {
		if !mask[i] {
			nulls[i] = true
			continue
		}
		switch t.Class() {
		case types.ClassF64:
			out.F64[i] = res.F64[j]
		case types.ClassStr:
			out.Str[i] = res.Str[j]
		default:
			out.I64[i] = res.I64[j]
		}
		nulls[i] = res.IsNull(j)
		j++
	}
	return out, nil
}

// notExpr is NOT e.
type notExpr struct {
	args []Expr
	buf  types.Vector
}

func (*notExpr) isOperator() {}

// Not returns NOT e (NULL stays NULL).
func Not(e Expr) (Expr, error) {
	e, err := toBool("NOT", e)
	if err != nil {
		return nil, err
	}
	return &notExpr{args: []Expr{e}}, nil
}

func (e *notExpr) Type() types.Type { return types.Bool }
func (e *notExpr) children() []Expr { return e.args }
func (e *notExpr) Clone() Expr      { return &notExpr{args: cloneAll(e.args)} }
func (e *notExpr) String() string   { return "NOT " + paren(e.args[0]) }
func (e *notExpr) Eval(b *types.Batch, out *types.Vector) error {
	n := b.Len()
	in, err := evalArg(e.args[0], b, &e.buf)
	if err != nil {
		return err
	}
	prepare(out, types.Bool, n)
	o := out.I64[:n]
	for i, v := range in.I64[:n] {
		o[i] = v ^ 1
	}
	if unionNulls(out, n, in, nil) {
		zeroNullSlots(out)
	}
	return nil
}

type isKind uint8

const (
	isNullTest isKind = iota
	isTrueTest
	isFalseTest
)

// isExpr is IS [NOT] NULL / TRUE / FALSE; never NULL itself.
type isExpr struct {
	kind isKind
	not  bool
	args []Expr
	buf  types.Vector
}

func (*isExpr) isOperator() {}

// IsNull returns e IS NULL (not=false) or e IS NOT NULL.
func IsNull(e Expr, not bool) Expr { return &isExpr{kind: isNullTest, not: not, args: []Expr{e}} }

// IsTrue returns e IS TRUE (not=false) or e IS NOT TRUE.
func IsTrue(e Expr, not bool) (Expr, error) {
	e, err := toBool("IS TRUE", e)
	if err != nil {
		return nil, err
	}
	return &isExpr{kind: isTrueTest, not: not, args: []Expr{e}}, nil
}

// IsFalse returns e IS FALSE (not=false) or e IS NOT FALSE.
func IsFalse(e Expr, not bool) (Expr, error) {
	e, err := toBool("IS FALSE", e)
	if err != nil {
		return nil, err
	}
	return &isExpr{kind: isFalseTest, not: not, args: []Expr{e}}, nil
}

func (e *isExpr) Type() types.Type { return types.Bool }
func (e *isExpr) children() []Expr { return e.args }
func (e *isExpr) Clone() Expr      { return &isExpr{kind: e.kind, not: e.not, args: cloneAll(e.args)} }
func (e *isExpr) String() string {
	s := paren(e.args[0]) + " IS "
	if e.not {
		s += "NOT "
	}
	return s + [...]string{"NULL", "TRUE", "FALSE"}[e.kind]
}

func (e *isExpr) Eval(b *types.Batch, out *types.Vector) error {
	n := b.Len()
	in, err := evalArg(e.args[0], b, &e.buf)
	if err != nil {
		return err
	}
	prepare(out, types.Bool, n)
	o := out.I64[:n]
	nulls := nullsOf(in, n)
	neg := b2i(e.not)
	for i := range o {
		isNull := nulls != nil && nulls[i]
		var r bool
		switch e.kind {
		case isNullTest:
			r = isNull
		case isTrueTest:
			r = !isNull && in.I64[i] != 0
		default:
			r = !isNull && in.I64[i] == 0
		}
		o[i] = b2i(r) ^ neg
	}
	return nil
}
