package expr

import (
	"math"
	"math/big"
	"math/bits"

	"github.com/sluicesql/sluice/exec/types"
)

type arithOp uint8

const (
	opAdd arithOp = iota
	opSub
	opMul
	opDiv
	opIntDiv
	opMod
)

var arithSyms = [...]string{opAdd: "+", opSub: "-", opMul: "*", opDiv: "/", opIntDiv: "DIV", opMod: "%"}

type arithMode uint8

const (
	modeInt   arithMode = iota // BIGINT result, int64 operands
	modeDec                    // DECIMAL (or BIGINT for DIV) from scaled int64 operands
	modeFloat                  // DOUBLE operands
)

// arithExpr is a binary arithmetic operator.
type arithExpr struct {
	op     arithOp
	mode   arithMode
	args   []Expr
	t      types.Type
	ls, rs int // operand scales in modeDec
	bufs   [2]types.Vector
}

// operator marks nodes printed infix (so parents parenthesize them).
type operator interface{ isOperator() }

func (*arithExpr) isOperator() {}

// paren prints e for use as an operand.
func paren(e Expr) string {
	if _, ok := e.(operator); ok {
		return "(" + e.String() + ")"
	}
	return e.String()
}

func newArith(op arithOp, l, r Expr) (Expr, error) {
	l, r, err := coercePair(l, r)
	if err != nil {
		return nil, err
	}
	lt, rt := l.Type(), r.Type()
	// A NULL literal adopts the other operand's type.
	switch {
	case isNull(lt) && isNull(rt):
		l, _ = implicitCast(l, types.BigInt)
		r, _ = implicitCast(r, types.BigInt)
	case isNull(lt) && (isNumeric(rt) || rt.Kind == types.KindBool):
		l, _ = implicitCast(l, rt)
	case isNull(rt) && (isNumeric(lt) || lt.Kind == types.KindBool):
		r, _ = implicitCast(r, lt)
	}
	lt, rt = l.Type(), r.Type()
	numOK := func(t types.Type) bool { return isNumeric(t) || t.Kind == types.KindBool }
	if !numOK(lt) || !numOK(rt) {
		return nil, typeErr("cannot apply '%s' to %s and %s", arithSyms[op], lt.Kind, rt.Kind)
	}
	a := &arithExpr{op: op}
	switch {
	case lt.IsFloat() || rt.IsFloat():
		a.mode = modeFloat
		if l, err = implicitCast(l, types.Double); err != nil {
			return nil, err
		}
		if r, err = implicitCast(r, types.Double); err != nil {
			return nil, err
		}
		a.t = types.Double
		if op == opIntDiv {
			a.t = types.BigInt
		}
	case lt.Kind != types.KindDecimal && rt.Kind != types.KindDecimal && op != opDiv:
		a.mode = modeInt
		a.t = types.BigInt
	default:
		a.mode = modeDec
		pl, sl := decimalParams(lt)
		pr, sr := decimalParams(rt)
		a.ls, a.rs = sl, sr
		const maxP = types.MaxDecimalPrecision
		switch op {
		case opAdd, opSub:
			s := max(sl, sr)
			a.t = types.Decimal(min(max(pl-sl, pr-sr)+s+1, maxP), s)
		case opMul:
			s := min(sl+sr, maxP)
			a.t = types.Decimal(min(max(pl+pr, s), maxP), s)
		case opDiv:
			s := min(sl+4, maxP)
			a.t = types.Decimal(min(max((pl-sl)+sr+s, s), maxP), s)
		case opMod:
			s := max(sl, sr)
			a.t = types.Decimal(min(max(pl-sl, pr-sr)+s, maxP), s)
		case opIntDiv:
			a.t = types.BigInt
		}
	}
	a.args = []Expr{l, r}
	return a, nil
}

// Neg returns unary minus.
func Neg(e Expr) (Expr, error) {
	t := e.Type()
	switch {
	case isNull(t):
		return implicitCast(e, types.BigInt)
	case t.IsInteger() || t.Kind == types.KindBool:
		return &negExpr{args: []Expr{e}, t: types.BigInt}, nil
	case isNumeric(t):
		return &negExpr{args: []Expr{e}, t: t.Nullable()}, nil
	}
	return nil, typeErr("cannot apply '-' to %s", t.Kind)
}

func (a *arithExpr) Type() types.Type { return a.t }
func (a *arithExpr) children() []Expr { return a.args }
func (a *arithExpr) Clone() Expr {
	return &arithExpr{op: a.op, mode: a.mode, args: cloneAll(a.args), t: a.t, ls: a.ls, rs: a.rs}
}
func (a *arithExpr) String() string {
	return paren(a.args[0]) + " " + arithSyms[a.op] + " " + paren(a.args[1])
}

func (a *arithExpr) Eval(b *types.Batch, out *types.Vector) error {
	n := b.Len()
	l, err := evalArg(a.args[0], b, &a.bufs[0])
	if err != nil {
		return err
	}
	r, err := evalArg(a.args[1], b, &a.bufs[1])
	if err != nil {
		return err
	}
	prepare(out, a.t, n)
	hasNulls := unionNulls(out, n, l, r)
	switch a.mode {
	case modeInt:
		err = a.evalInt(l.I64[:n], r.I64[:n], out)
	case modeDec:
		err = a.evalDec(l.I64[:n], r.I64[:n], out)
	default:
		err = a.evalFloat(l.F64[:n], r.F64[:n], out)
	}
	if err != nil {
		return err
	}
	if hasNulls || out.Nulls != nil {
		zeroNullSlots(out)
	}
	return nil
}

// mulOverflow returns x*y and a nonzero value when the signed product
// overflows.
func mulOverflow(x, y int64) (int64, uint64) {
	hi, lo := bits.Mul64(uint64(x), uint64(y))
	hi -= uint64(x>>63) & uint64(y)
	hi -= uint64(y>>63) & uint64(x)
	return int64(lo), hi ^ uint64(int64(lo)>>63)
}

// setNullAt marks row i NULL in out (whose Nulls may not exist yet).
func setNullAt(out *types.Vector, i int) {
	ensureNulls(out, out.Len())[i] = true
}

func (a *arithExpr) evalInt(x, y []int64, out *types.Vector) error {
	o := out.I64[:len(x)]
	y = y[:len(x)]
	var ofl uint64
	switch a.op {
	case opAdd:
		for i := range o {
			c := x[i] + y[i]
			ofl |= uint64((x[i] ^ c) & (y[i] ^ c))
			o[i] = c
		}
		ofl >>= 63
	case opSub:
		for i := range o {
			c := x[i] - y[i]
			ofl |= uint64((x[i] ^ y[i]) & (x[i] ^ c))
			o[i] = c
		}
		ofl >>= 63
	case opMul:
		for i := range o {
			c, f := mulOverflow(x[i], y[i])
			ofl |= f
			o[i] = c
		}
	case opIntDiv, opMod:
		for i := range o {
			d := y[i]
			if d == 0 {
				o[i] = 0
				if !out.IsNull(i) {
					setNullAt(out, i)
				}
				continue
			}
			if a.op == opMod {
				o[i] = x[i] % d
				continue
			}
			if d == -1 && x[i] == math.MinInt64 {
				ofl = 1
			}
			o[i] = x[i] / d
		}
	}
	if ofl != 0 && a.overflowAt(out, x, y) {
		return rangeErr("BIGINT", a)
	}
	return nil
}

// overflowAt re-checks an overflow flag row by row, ignoring NULL rows (in
// case an input kept garbage in a NULL slot).
func (a *arithExpr) overflowAt(out *types.Vector, x, y []int64) bool {
	for i := range x {
		if out.IsNull(i) {
			continue
		}
		switch a.op {
		case opAdd:
			c := x[i] + y[i]
			if (x[i]^c)&(y[i]^c) < 0 {
				return true
			}
		case opSub:
			c := x[i] - y[i]
			if (x[i]^y[i])&(x[i]^c) < 0 {
				return true
			}
		case opMul:
			if _, f := mulOverflow(x[i], y[i]); f != 0 {
				return true
			}
		case opIntDiv:
			if y[i] == -1 && x[i] == math.MinInt64 {
				return true
			}
		default:
			return true
		}
	}
	return false
}

func (a *arithExpr) evalDec(x, y []int64, out *types.Vector) error {
	o := out.I64[:len(x)]
	y = y[:len(x)]
	lim := types.Pow10[types.MaxDecimalPrecision]
	bad := false
	switch a.op {
	case opAdd, opSub:
		s := max(a.ls, a.rs)
		fx, fy := types.Pow10[s-a.ls], types.Pow10[s-a.rs]
		var ofl uint64
		if fx == 1 && fy == 1 && a.op == opAdd {
			// Same scale: a plain checked addition (the common case).
			for i := range o {
				c := x[i] + y[i]
				ofl |= uint64((x[i]^c)&(y[i]^c)) >> 63
				if c >= lim || c <= -lim {
					ofl = 1
				}
				o[i] = c
			}
			bad = ofl != 0
			break
		}
		for i := range o {
			u, f1 := mulOverflow(x[i], fx)
			v, f2 := mulOverflow(y[i], fy)
			ofl |= f1 | f2
			if a.op == opSub {
				v = -v
			}
			c := u + v
			ofl |= uint64((u^c)&(v^c)) >> 63
			if c >= lim || c <= -lim {
				ofl = 1
			}
			o[i] = c
		}
		bad = ofl != 0
	case opMul:
		excess := a.ls + a.rs - a.t.Scale
		if excess == 0 {
			var ofl uint64
			for i := range o {
				c, f := mulOverflow(x[i], y[i])
				ofl |= f
				if c >= lim || c <= -lim {
					ofl = 1
				}
				o[i] = c
			}
			bad = ofl != 0
			break
		}
		d := uint64(types.Pow10[excess])
		for i := range o {
			c, ok := mulDivRound(x[i], y[i], d)
			if !ok || c >= lim || c <= -lim {
				bad = true
			}
			o[i] = c
		}
	case opDiv:
		k := a.t.Scale - a.ls + a.rs
		for i := range o {
			d := y[i]
			if d == 0 {
				o[i] = 0
				if !out.IsNull(i) {
					setNullAt(out, i)
				}
				continue
			}
			c, ok := decDiv(x[i], d, k)
			if !ok || c >= lim || c <= -lim {
				bad = true
			}
			o[i] = c
		}
	case opMod, opIntDiv:
		s := max(a.ls, a.rs)
		fx, fy := types.Pow10[s-a.ls], types.Pow10[s-a.rs]
		for i := range o {
			u, f1 := mulOverflow(x[i], fx)
			v, f2 := mulOverflow(y[i], fy)
			if f1|f2 != 0 {
				bad = true
				continue
			}
			if v == 0 {
				o[i] = 0
				if !out.IsNull(i) {
					setNullAt(out, i)
				}
				continue
			}
			if a.op == opMod {
				o[i] = u % v
			} else {
				if v == -1 && u == math.MinInt64 {
					bad = true
				}
				o[i] = u / v
			}
		}
	}
	if bad && a.decOverflowAt(out, x, y) {
		kind := "DECIMAL"
		if a.t.Kind == types.KindBigInt {
			kind = "BIGINT"
		}
		return rangeErr(kind, a)
	}
	return nil
}

// decOverflowAt confirms a DECIMAL overflow on a non-NULL row.
func (a *arithExpr) decOverflowAt(out *types.Vector, x, y []int64) bool {
	for i := range x {
		if !out.IsNull(i) && a.decRowOverflows(x[i], y[i]) {
			return true
		}
	}
	return false
}

// decRowOverflows reports whether one row of evalDec overflows.
func (a *arithExpr) decRowOverflows(x, y int64) bool {
	lim := types.Pow10[types.MaxDecimalPrecision]
	out := func(c int64, ok bool) bool { return !ok || c >= lim || c <= -lim }
	switch a.op {
	case opAdd, opSub:
		s := max(a.ls, a.rs)
		u, ok1 := mulCheck(x, types.Pow10[s-a.ls])
		v, ok2 := mulCheck(y, types.Pow10[s-a.rs])
		if !ok1 || !ok2 {
			return true
		}
		if a.op == opSub {
			v = -v
		}
		c := u + v
		return (u^c)&(v^c) < 0 || out(c, true)
	case opMul:
		return out(mulDivRound(x, y, uint64(types.Pow10[a.ls+a.rs-a.t.Scale])))
	case opDiv:
		return y != 0 && out(decDiv(x, y, a.t.Scale-a.ls+a.rs))
	default:
		s := max(a.ls, a.rs)
		u, ok1 := mulCheck(x, types.Pow10[s-a.ls])
		v, ok2 := mulCheck(y, types.Pow10[s-a.rs])
		return !ok1 || !ok2 || (a.op == opIntDiv && v == -1 && u == math.MinInt64)
	}
}

// decDiv computes round(x * 10^k / y), half away from zero.
func decDiv(x, y int64, k int) (int64, bool) {
	if k < 0 {
		// Only possible when the dividend scale is capped: divide first.
		return decDivBig(x, y, k)
	}
	if k > types.MaxDecimalPrecision {
		return decDivBig(x, y, k)
	}
	if y < 0 {
		if y == math.MinInt64 {
			return decDivBig(x, y, k)
		}
		x, y = -x, -y
		if x == math.MinInt64 {
			return decDivBig(-x, -y, k)
		}
	}
	return mulDivRound(x, types.Pow10[k], uint64(y))
}

// decDivBig is the rare slow path of decDiv using math/big.
func decDivBig(x, y int64, k int) (int64, bool) {
	num := big.NewInt(x)
	den := big.NewInt(y)
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(k))), nil)
	if k >= 0 {
		num.Mul(num, p)
	} else {
		den.Mul(den, p)
	}
	neg := num.Sign()*den.Sign() < 0
	num.Abs(num)
	den.Abs(den)
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	r.Lsh(r, 1)
	if r.Cmp(den) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if neg {
		q.Neg(q)
	}
	if !q.IsInt64() {
		return 0, false
	}
	return q.Int64(), true
}

func abs(k int) int {
	if k < 0 {
		return -k
	}
	return k
}

func (a *arithExpr) evalFloat(x, y []float64, out *types.Vector) error {
	n := len(x)
	y = y[:n]
	bad := false
	switch a.op {
	case opAdd, opSub, opMul:
		o := out.F64[:n]
		for i := range o {
			var c float64
			switch a.op {
			case opAdd:
				c = x[i] + y[i]
			case opSub:
				c = x[i] - y[i]
			default:
				c = x[i] * y[i]
			}
			o[i] = c
		}
		for i, c := range o {
			if math.IsInf(c, 0) && !math.IsInf(x[i], 0) && !math.IsInf(y[i], 0) {
				bad = true
			}
		}
	case opDiv, opMod:
		o := out.F64[:n]
		for i := range o {
			if y[i] == 0 {
				o[i] = 0
				if !out.IsNull(i) {
					setNullAt(out, i)
				}
				continue
			}
			if a.op == opDiv {
				o[i] = x[i] / y[i]
				bad = bad || (math.IsInf(o[i], 0) && !math.IsInf(x[i], 0))
			} else {
				o[i] = math.Mod(x[i], y[i])
			}
		}
	case opIntDiv:
		o := out.I64[:n]
		for i := range o {
			if y[i] == 0 {
				o[i] = 0
				if !out.IsNull(i) {
					setNullAt(out, i)
				}
				continue
			}
			q := math.Trunc(x[i] / y[i])
			if math.IsNaN(q) || q >= 9.223372036854775807e18 || q < -9.223372036854775808e18 {
				if !out.IsNull(i) {
					return rangeErr("BIGINT", a)
				}
				continue
			}
			o[i] = int64(q)
		}
	}
	if bad {
		return rangeErr("DOUBLE", a)
	}
	return nil
}

// negExpr is unary minus.
type negExpr struct {
	args []Expr
	t    types.Type
	buf  types.Vector
}

func (*negExpr) isOperator()        {}
func (e *negExpr) Type() types.Type { return e.t }
func (e *negExpr) children() []Expr { return e.args }
func (e *negExpr) Clone() Expr      { return &negExpr{args: cloneAll(e.args), t: e.t} }
func (e *negExpr) String() string   { return "-" + paren(e.args[0]) }
func (e *negExpr) Eval(b *types.Batch, out *types.Vector) error {
	n := b.Len()
	in, err := evalArg(e.args[0], b, &e.buf)
	if err != nil {
		return err
	}
	prepare(out, e.t, n)
	unionNulls(out, n, in, nil)
	if e.t.Class() == types.ClassF64 {
		for i, v := range in.F64[:n] {
			out.F64[i] = -v
		}
		return nil
	}
	for i, v := range in.I64[:n] {
		if v == math.MinInt64 {
			return rangeErr(e.t.Kind.String(), e)
		}
		out.I64[i] = -v
	}
	return nil
}
