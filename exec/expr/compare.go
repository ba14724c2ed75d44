package expr

import (
	"slices"
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
	if x, k, op, ok := c.constOperand(); ok {
		v, err := evalArg(x, b, &c.bufs[0])
		if err != nil {
			return err
		}
		prepare(out, types.Bool, n)
		o := out.I64[:n]
		switch c.mode {
		case cmpI64:
			cmpConstLoop(op, v.I64[:n], k.I, o)
		case cmpF64:
			cmpConstLoop(op, v.F64[:n], k.F, o)
		default:
			cmpConstLoop(op, v.Str[:n], k.S, o)
		}
		if vn := nullsOf(v, n); vn != nil {
			// x <=> k is FALSE for a NULL x (k is not NULL); x op k is NULL.
			var nulls []bool
			if c.op != opNullEQ {
				nulls = ensureNulls(out, n)
				copy(nulls, vn)
			}
			for i, isNull := range vn {
				if isNull {
					o[i] = 0
				}
			}
		}
		return nil
	}
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

// classOfMode is the vector class a comparison mode reads.
func classOfMode(m cmpMode) types.Class {
	switch m {
	case cmpF64:
		return types.ClassF64
	case cmpStr:
		return types.ClassStr
	}
	return types.ClassI64
}

// constOperand reports whether c compares an operand with a non-NULL
// literal that its loops can read as a scalar (modes cmpI64, cmpF64 and
// cmpStr). It returns the other operand x, the literal's value k and the
// operator as x op k (reversed when the literal is on the left); <=>
// becomes =, since k is not NULL (a NULL x then gives FALSE, which the
// caller handles).
func (c *cmpExpr) constOperand() (x Expr, k types.Datum, op cmpOp, ok bool) {
	if c.mode != cmpI64 && c.mode != cmpF64 && c.mode != cmpStr {
		return nil, k, 0, false
	}
	op = c.op
	if op == opNullEQ {
		op = opEQ
	}
	want := classOfMode(c.mode)
	if l, isLit := c.args[1].(*litExpr); isLit && !l.d.Null && l.d.Type.Class() == want {
		return c.args[0], l.d, op, true
	}
	if l, isLit := c.args[0].(*litExpr); isLit && !l.d.Null && l.d.Type.Class() == want {
		return c.args[1], l.d, reverseCmp(op), true
	}
	return nil, k, 0, false
}

// reverseCmp gives op' with b op' a == a op b.
func reverseCmp(op cmpOp) cmpOp {
	switch op {
	case opLT:
		return opGT
	case opLE:
		return opGE
	case opGT:
		return opLT
	case opGE:
		return opLE
	}
	return op
}

// evalRows computes the comparison at the rows sel only (see rowsEvaler).
func (c *cmpExpr) evalRows(b *types.Batch, sel []int32, out *types.Vector) (bool, error) {
	if c.mode == cmpNull {
		return false, nil
	}
	n := b.Len()
	if x, k, op, ok := c.constOperand(); ok {
		v, err := evalSelected(x, b, sel, &c.bufs[0])
		if err != nil {
			return true, err
		}
		prepare(out, types.Bool, n)
		o := out.I64[:n]
		switch c.mode {
		case cmpI64:
			cmpConstSelLoop(op, v.I64[:n], k.I, sel, o)
		case cmpF64:
			cmpConstSelLoop(op, v.F64[:n], k.F, sel, o)
		default:
			cmpConstSelLoop(op, v.Str[:n], k.S, sel, o)
		}
		c.selNulls(out, sel, nullsOf(v, n), nil)
		return true, nil
	}
	l, err := evalSelected(c.args[0], b, sel, &c.bufs[0])
	if err != nil {
		return true, err
	}
	r, err := evalSelected(c.args[1], b, sel, &c.bufs[1])
	if err != nil {
		return true, err
	}
	prepare(out, types.Bool, n)
	o := out.I64[:n]
	op := c.op
	if op == opNullEQ {
		op = opEQ
	}
	switch c.mode {
	case cmpI64:
		cmpSelLoop(op, l.I64[:n], r.I64[:n], sel, o)
	case cmpF64:
		cmpSelLoop(op, l.F64[:n], r.F64[:n], sel, o)
	case cmpStr:
		cmpSelLoop(op, l.Str[:n], r.Str[:n], sel, o)
	case cmpDec:
		x, y := l.I64[:n], r.I64[:n]
		for _, i := range sel {
			o[i] = cmpResult(op, cmpScaled(x[i], c.ls, y[i], c.rs))
		}
	}
	c.selNulls(out, sel, nullsOf(l, n), nullsOf(r, n))
	return true, nil
}

// selNulls applies the operands' NULLs (either may be nil) to the rows sel
// of a comparison's result.
func (c *cmpExpr) selNulls(out *types.Vector, sel []int32, ln, rn []bool) {
	if ln == nil && rn == nil {
		return
	}
	o := out.I64
	var nulls []bool
	for _, i := range sel {
		a, b := ln != nil && ln[i], rn != nil && rn[i]
		if !a && !b {
			continue
		}
		if c.op == opNullEQ {
			o[i] = b2i(a && b)
			continue
		}
		if nulls == nil {
			nulls = ensureNulls(out, len(o))
		}
		nulls[i] = true
		o[i] = 0
	}
}

// cmpConstLoop computes x[i] op k.
func cmpConstLoop[T ordered](op cmpOp, x []T, k T, o []int64) {
	o = o[:len(x)]
	switch op {
	case opEQ:
		for i, v := range x {
			o[i] = b2i(v == k)
		}
	case opNE:
		for i, v := range x {
			o[i] = b2i(v != k)
		}
	case opLT:
		for i, v := range x {
			o[i] = b2i(v < k)
		}
	case opLE:
		for i, v := range x {
			o[i] = b2i(v <= k)
		}
	case opGT:
		for i, v := range x {
			o[i] = b2i(v > k)
		}
	case opGE:
		for i, v := range x {
			o[i] = b2i(v >= k)
		}
	}
}

// cmpConstSelLoop computes x[i] op k for the rows i of sel.
func cmpConstSelLoop[T ordered](op cmpOp, x []T, k T, sel []int32, o []int64) {
	switch op {
	case opEQ:
		for _, i := range sel {
			o[i] = b2i(x[i] == k)
		}
	case opNE:
		for _, i := range sel {
			o[i] = b2i(x[i] != k)
		}
	case opLT:
		for _, i := range sel {
			o[i] = b2i(x[i] < k)
		}
	case opLE:
		for _, i := range sel {
			o[i] = b2i(x[i] <= k)
		}
	case opGT:
		for _, i := range sel {
			o[i] = b2i(x[i] > k)
		}
	case opGE:
		for _, i := range sel {
			o[i] = b2i(x[i] >= k)
		}
	}
}

// cmpSelLoop computes x[i] op y[i] for the rows i of sel.
func cmpSelLoop[T ordered](op cmpOp, x, y []T, sel []int32, o []int64) {
	switch op {
	case opEQ:
		for _, i := range sel {
			o[i] = b2i(x[i] == y[i])
		}
	case opNE:
		for _, i := range sel {
			o[i] = b2i(x[i] != y[i])
		}
	case opLT:
		for _, i := range sel {
			o[i] = b2i(x[i] < y[i])
		}
	case opLE:
		for _, i := range sel {
			o[i] = b2i(x[i] <= y[i])
		}
	case opGT:
		for _, i := range sel {
			o[i] = b2i(x[i] > y[i])
		}
	case opGE:
		for _, i := range sel {
			o[i] = b2i(x[i] >= y[i])
		}
	}
}

// Constant indexes: IN over constants and CASE x WHEN k1 ... WHEN k2 find
// a value among a fixed set of constants, each carrying an id (the CASE
// branch; the first of equal constants wins). A few constants are compared
// directly, which beats hashing every input value; many go into a map.
const smallIndexCount = 16 // at most this many constants are compared directly

// strSlotBits sizes strIndex's table (512 one-byte slots).
const strSlotBits = 9

// strSeeds are the odd multipliers tried, in order, for a table without
// collisions.
var strSeeds = [...]uint32{0x9e3779b1, 0x85ebca6b, 0xc2b2ae35, 0x27d4eb2f, 0x165667b1, 0xd3a2646d, 0xfd7046c5, 0xb55a4f09}

// strIndex finds a string among constants. A small set is a table indexed
// by a hash of the length, first and last byte, with at most one constant
// per slot: an input costs a multiply, one table read and, when the slot
// is taken, one comparison. Sets that are larger, or whose constants
// cannot be spread over distinct slots (same length and end bytes), use a
// map.
type strIndex struct {
	seed  uint32
	slots [1 << strSlotBits]uint8 // position in vals + 1; 0: empty
	vals  []string
	ids   []int32
	m     map[string]int32
}

func strSlot(seed uint32, x string) uint32 {
	var a, z uint32
	if l := len(x); l > 0 {
		a, z = uint32(x[0]), uint32(x[l-1])
	}
	return ((uint32(len(x))<<16 | a<<8 | z) * seed) >> (32 - strSlotBits)
}

func newStrIndex(vals []string, ids []int32) *strIndex {
	s := &strIndex{}
	for i, v := range vals {
		if !slices.Contains(s.vals, v) {
			s.vals = append(s.vals, v)
			s.ids = append(s.ids, ids[i])
		}
	}
	if len(s.vals) <= smallIndexCount {
	seeds:
		for _, seed := range strSeeds {
			clear(s.slots[:])
			for i, v := range s.vals {
				h := strSlot(seed, v)
				if s.slots[h] != 0 {
					continue seeds
				}
				s.slots[h] = uint8(i + 1)
			}
			s.seed = seed
			return s
		}
	}
	s.m = make(map[string]int32, len(s.vals))
	for i, v := range s.vals {
		s.m[v] = s.ids[i]
	}
	return s
}

// find returns the id of x, or -1.
func (s *strIndex) find(x string) int32 {
	if s.m != nil {
		if id, ok := s.m[x]; ok {
			return id
		}
		return -1
	}
	if c := s.slots[strSlot(s.seed, x)]; c != 0 && s.vals[c-1] == x {
		return s.ids[c-1]
	}
	return -1
}

// numIndex finds an integer (or a DOUBLE, compared with ==: NaN is never
// found, -0 equals 0) among constants.
type numIndex[T int64 | float64] struct {
	vals []T
	ids  []int32
	m    map[T]int32 // large sets
}

func newNumIndex[T int64 | float64](vals []T, ids []int32) *numIndex[T] {
	s := &numIndex[T]{}
	if len(vals) > smallIndexCount {
		s.m = make(map[T]int32, len(vals))
		for i, v := range vals {
			if _, dup := s.m[v]; !dup {
				s.m[v] = ids[i]
			}
		}
		return s
	}
	for i, v := range vals {
		if !slices.Contains(s.vals, v) {
			s.vals = append(s.vals, v)
			s.ids = append(s.ids, ids[i])
		}
	}
	return s
}

// find returns the id of x, or -1.
func (s *numIndex[T]) find(x T) int32 {
	if s.m != nil {
		if id, ok := s.m[x]; ok {
			return id
		}
		return -1
	}
	for j, v := range s.vals {
		if v == x {
			return s.ids[j]
		}
	}
	return -1
}
