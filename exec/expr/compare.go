package expr

import (
	"strings"

	"github.com/sluicesql/sluice/exec/types"
)

type cmpOp uint8

const (
	opEQ cmpOp = iota
	opNE
	opLT
	opLE
	opGT
	opGE
	opNullEQ // <=>
)

var cmpSyms = [...]string{opEQ: "=", opNE: "<>", opLT: "<", opLE: "<=", opGT: ">", opGE: ">=", opNullEQ: "<=>"}

type cmpMode uint8

const (
	cmpI64 cmpMode = iota
	cmpF64
	cmpStr
	cmpDec  // DECIMALs (or integer vs DECIMAL) of different scales
	cmpNull // an operand is the untyped NULL
)

// cmpExpr is a comparison; the result is BOOLEAN.
type cmpExpr struct {
	op     cmpOp
	mode   cmpMode
	args   []Expr
	ls, rs int
	bufs   [2]types.Vector
}

func (*cmpExpr) isOperator() {}

// newCompare type-checks a comparison. Numeric kinds compare by value
// (integer/DECIMAL exactly, any FLOAT/DOUBLE as DOUBLE), strings bytewise,
// temporal values chronologically (DATE widens to TIMESTAMP), booleans as
// 0/1. A constant string meets a numeric, temporal or boolean operand by
// being converted at construction; any other string/non-string pair is a
// type error ("cannot compare VARCHAR with INT").
func newCompare(op cmpOp, l, r Expr) (Expr, error) {
	l, r, err := coercePair(l, r)
	if err != nil {
		return nil, err
	}
	lt, rt := l.Type(), r.Type()
	c := &cmpExpr{op: op}
	switch {
	case isNull(lt) || isNull(rt):
		c.mode = cmpNull
	case (isNumeric(lt) || lt.Kind == types.KindBool) && (isNumeric(rt) || rt.Kind == types.KindBool):
		switch {
		case lt.IsFloat() || rt.IsFloat():
			c.mode = cmpF64
			if l, err = implicitCast(l, types.Double); err != nil {
				return nil, err
			}
			if r, err = implicitCast(r, types.Double); err != nil {
				return nil, err
			}
		default:
			_, c.ls = decimalParams(lt)
			_, c.rs = decimalParams(rt)
			c.mode = cmpI64
			if c.ls != c.rs {
				c.mode = cmpDec
			}
		}
	case lt.IsString() && rt.IsString():
		c.mode = cmpStr
	case lt.IsTemporal() && rt.IsTemporal():
		switch {
		case lt.Kind == rt.Kind, isTimestamp(lt) && isTimestamp(rt):
		case lt.Kind == types.KindDate && isTimestamp(rt):
			if l, err = implicitCast(l, rt); err != nil {
				return nil, err
			}
		case rt.Kind == types.KindDate && isTimestamp(lt):
			if r, err = implicitCast(r, lt); err != nil {
				return nil, err
			}
		default:
			return nil, typeErr("cannot compare %s with %s", lt.Kind, rt.Kind)
		}
		c.mode = cmpI64
	default:
		return nil, typeErr("cannot compare %s with %s", lt.Kind, rt.Kind)
	}
	c.args = []Expr{l, r}
	return c, nil
}

func (c *cmpExpr) Type() types.Type { return types.Bool }
func (c *cmpExpr) children() []Expr { return c.args }
func (c *cmpExpr) Clone() Expr {
	return &cmpExpr{op: c.op, mode: c.mode, args: cloneAll(c.args), ls: c.ls, rs: c.rs}
}
func (c *cmpExpr) String() string {
	return paren(c.args[0]) + " " + cmpSyms[c.op] + " " + paren(c.args[1])
}

func (c *cmpExpr) Eval(b *types.Batch, out *types.Vector) error {
	n := b.Len()
	l, err := evalArg(c.args[0], b, &c.bufs[0])
	if err != nil {
		return err
	}
	r, err := evalArg(c.args[1], b, &c.bufs[1])
	if err != nil {
		return err
	}
	prepare(out, types.Bool, n)
	o := out.I64[:n]
	op := c.op
	if op == opNullEQ {
		op = opEQ
	}
	switch c.mode {
	case cmpI64:
		cmpLoop(op, l.I64[:n], r.I64[:n], o)
	case cmpF64:
		cmpLoop(op, l.F64[:n], r.F64[:n], o)
	case cmpStr:
		cmpLoop(op, l.Str[:n], r.Str[:n], o)
	case cmpDec:
		x, y := l.I64[:n], r.I64[:n]
		for i := range o {
			o[i] = cmpResult(op, cmpScaled(x[i], c.ls, y[i], c.rs))
		}
	}
	if c.op == opNullEQ {
		ln, rn := nullsOf(l, n), nullsOf(r, n)
		if ln != nil || rn != nil {
			for i := range o {
				a, b := ln != nil && ln[i], rn != nil && rn[i]
				if a || b {
					o[i] = b2i(a && b)
				}
			}
		}
		return nil
	}
	if c.mode == cmpNull {
		nulls := ensureNulls(out, n)
		for i := range nulls {
			nulls[i] = true
			o[i] = 0
		}
		return nil
	}
	if unionNulls(out, n, l, r) {
		zeroNullSlots(out)
	}
	return nil
}

func cmpResult(op cmpOp, c int) int64 {
	switch op {
	case opEQ:
		return b2i(c == 0)
	case opNE:
		return b2i(c != 0)
	case opLT:
		return b2i(c < 0)
	case opLE:
		return b2i(c <= 0)
	case opGT:
		return b2i(c > 0)
	}
	return b2i(c >= 0)
}

type ordered interface{ ~int64 | ~float64 | ~string }

func cmpLoop[T ordered](op cmpOp, x, y []T, o []int64) {
	y = y[:len(x)]
	o = o[:len(x)]
	switch op {
	case opEQ:
		for i := range o {
			o[i] = b2i(x[i] == y[i])
		}
	case opNE:
		for i := range o {
			o[i] = b2i(x[i] != y[i])
		}
	case opLT:
		for i := range o {
			o[i] = b2i(x[i] < y[i])
		}
	case opLE:
		for i := range o {
			o[i] = b2i(x[i] <= y[i])
		}
	case opGT:
		for i := range o {
			o[i] = b2i(x[i] > y[i])
		}
	case opGE:
		for i := range o {
			o[i] = b2i(x[i] >= y[i])
		}
	}
}

// compareDatums orders two non-NULL datums of comparable types (used by
// GREATEST/LEAST and IN over constants).
func compareDatums(a, b types.Datum) int {
	switch {
	case a.Type.Class() == types.ClassStr:
		return strings.Compare(a.S, b.S)
	case a.Type.Class() == types.ClassF64:
		return types.Compare(a, b)
	}
	_, sa := decimalParams(a.Type)
	_, sb := decimalParams(b.Type)
	return cmpScaled(a.I, sa, b.I, sb)
}
