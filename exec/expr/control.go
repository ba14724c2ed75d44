package expr

import (
	"strings"

	"github.com/sluicesql/sluice/exec/types"
)

// caseExpr is a searched CASE: CASE WHEN c1 THEN r1 ... [ELSE e] END.
type caseExpr struct {
	args    []Expr // conditions, then results, then the optional ELSE
	nw      int
	hasElse bool
	t       types.Type
	bufs    []types.Vector
	pick    []int32
	mask    []bool
}

// Case returns a searched CASE. whens are conditions (BOOLEAN or numeric),
// thens the results, els the ELSE result or nil (NULL). The result type is
// the common type of thens and els. A simple CASE x WHEN v ... is built
// with conditions x = v.
func Case(whens, thens []Expr, els Expr) (Expr, error) {
	if len(whens) == 0 || len(whens) != len(thens) {
		return nil, typeErr("CASE needs at least one WHEN and one THEN per WHEN")
	}
	conds := make([]Expr, len(whens))
	for i, w := range whens {
		c, err := toBool("CASE", w)
		if err != nil {
			return nil, typeErr("CASE condition must be BOOLEAN, got %s", w.Type().Kind)
		}
		conds[i] = c
	}
	results := append([]Expr(nil), thens...)
	if els != nil {
		results = append(results, els)
	}
	results, t, err := unify("CASE", results)
	if err != nil {
		return nil, err
	}
	if isNull(t) {
		t = types.Null
	}
	c := &caseExpr{args: append(conds, results...), nw: len(whens), hasElse: els != nil, t: t}
	c.bufs = make([]types.Vector, len(c.args))
	return c, nil
}

func (c *caseExpr) Type() types.Type { return c.t }
func (c *caseExpr) children() []Expr { return c.args }
func (c *caseExpr) Clone() Expr {
	return &caseExpr{args: cloneAll(c.args), nw: c.nw, hasElse: c.hasElse, t: c.t,
		bufs: make([]types.Vector, len(c.args))}
}

func (c *caseExpr) String() string {
	var sb strings.Builder
	sb.WriteString("CASE")
	for i := 0; i < c.nw; i++ {
		sb.WriteString(" WHEN " + c.args[i].String() + " THEN " + c.args[c.nw+i].String())
	}
	if c.hasElse {
		sb.WriteString(" ELSE " + c.args[2*c.nw].String())
	}
	sb.WriteString(" END")
	return sb.String()
}

func (c *caseExpr) Eval(b *types.Batch, out *types.Vector) error {
	n := b.Len()
	if cap(c.pick) < n {
		c.pick = make([]int32, n)
		c.mask = make([]bool, n)
	}
	pick, mask := c.pick[:n], c.mask[:n]
	for i := range pick {
		pick[i] = -1
	}
	undecided := n
	for w := 0; w < c.nw && undecided > 0; w++ {
		cond, err := evalArg(c.args[w], b, &c.bufs[w])
		if err != nil {
			for i := range mask {
				mask[i] = pick[i] < 0
			}
			if cond, err = evalSubset(c.args[w], b, mask, &c.bufs[w]); err != nil {
				return err
			}
		}
		cn := nullsOf(cond, n)
		for i, v := range cond.I64[:n] {
			if pick[i] < 0 && v != 0 && (cn == nil || !cn[i]) {
				pick[i] = int32(w)
				undecided--
			}
		}
	}
	prepare(out, c.t, n)
	if undecided > 0 && !c.hasElse {
		nulls := ensureNulls(out, n)
		for i, p := range pick {
			if p < 0 {
				nulls[i] = true
			}
		}
	}
	branches := c.nw
	if c.hasElse {
		branches++
	}
	for k := 0; k < branches; k++ {
		want := int32(k)
		if k == c.nw {
			want = -1 // ELSE
		}
		any := false
		for i, p := range pick {
			mask[i] = p == want
			any = any || mask[i]
		}
		if !any {
			continue
		}
		arg := c.nw + k
		v, err := evalArg(c.args[arg], b, &c.bufs[arg])
		if err != nil {
			if v, err = evalSubset(c.args[arg], b, mask, &c.bufs[arg]); err != nil {
				return err
			}
		}
		copyMasked(out, v, mask)
	}
	return nil
}

// copyMasked copies the rows of src selected by mask into out (same type
// class, same length), NULLs included.
func copyMasked(out, src *types.Vector, mask []bool) {
	n := len(mask)
	switch out.Type.Class() {
	case types.ClassF64:
		for i, m := range mask {
			if m {
				out.F64[i] = src.F64[i]
			}
		}
	case types.ClassStr:
		for i, m := range mask {
			if m {
				out.Str[i] = src.Str[i]
			}
		}
	default:
		for i, m := range mask {
			if m {
				out.I64[i] = src.I64[i]
			}
		}
	}
	if sn := nullsOf(src, n); sn != nil {
		nulls := ensureNulls(out, n)
		for i, m := range mask {
			if m && sn[i] {
				nulls[i] = true
			}
		}
	}
}

// coalesceExpr returns its first non-NULL argument.
type coalesceExpr struct {
	name string
	args []Expr
	t    types.Type
	bufs []types.Vector
	mask []bool
}

// Coalesce returns COALESCE(args...): the first non-NULL argument, of the
// arguments' common type. Later arguments are evaluated only while some
// row is still NULL.
func Coalesce(args ...Expr) (Expr, error) { return newCoalesce("COALESCE", args) }

func newCoalesce(name string, args []Expr) (Expr, error) {
	if len(args) == 0 {
		return nil, newErr(ErrArity, "function %s expects at least 1 argument, got 0", name)
	}
	args, t, err := unify(name, args)
	if err != nil {
		return nil, err
	}
	return &coalesceExpr{name: name, args: args, t: t, bufs: make([]types.Vector, len(args))}, nil
}

func (c *coalesceExpr) Type() types.Type { return c.t }
func (c *coalesceExpr) children() []Expr { return c.args }
func (c *coalesceExpr) Clone() Expr {
	return &coalesceExpr{name: c.name, args: cloneAll(c.args), t: c.t, bufs: make([]types.Vector, len(c.args))}
}
func (c *coalesceExpr) String() string { return callString(c.name, c.args) }

func (c *coalesceExpr) Eval(b *types.Batch, out *types.Vector) error {
	n := b.Len()
	prepare(out, c.t, n)
	nulls := ensureNulls(out, n)
	for i := range nulls {
		nulls[i] = true
	}
	if cap(c.mask) < n {
		c.mask = make([]bool, n)
	}
	mask := c.mask[:n]
	remaining := n
	for k, arg := range c.args {
		if remaining == 0 {
			break
		}
		v, err := evalArg(arg, b, &c.bufs[k])
		if err != nil {
			copy(mask, nulls)
			if v, err = evalSubset(arg, b, mask, &c.bufs[k]); err != nil {
				return err
			}
		}
		vn := nullsOf(v, n)
		for i := range mask {
			mask[i] = nulls[i] && (vn == nil || !vn[i])
			if mask[i] {
				nulls[i] = false
				remaining--
			}
		}
		copyMasked(out, v, mask)
	}
	return nil
}

// If returns IF(cond, a, b).
func If(cond, a, b Expr) (Expr, error) { return Case([]Expr{cond}, []Expr{a}, b) }

// nullIfExpr is NULLIF(a, b): NULL when a = b, otherwise a.
type nullIfExpr struct {
	args []Expr // a, a = b
	bufs [2]types.Vector
}

// NullIf returns NULLIF(a, b).
func NullIf(a, b Expr) (Expr, error) {
	eq, err := newCompare(opEQ, a, b)
	if err != nil {
		return nil, err
	}
	return &nullIfExpr{args: []Expr{a, eq}}, nil
}

func (e *nullIfExpr) Type() types.Type { return e.args[0].Type() }
func (e *nullIfExpr) children() []Expr { return e.args }
func (e *nullIfExpr) Clone() Expr      { return &nullIfExpr{args: cloneAll(e.args)} }
func (e *nullIfExpr) String() string {
	if eq, ok := e.args[1].(*cmpExpr); ok {
		return callString("NULLIF", eq.args)
	}
	return "NULLIF(" + e.args[0].String() + ", <" + e.args[1].String() + ">)"
}
func (e *nullIfExpr) Eval(b *types.Batch, out *types.Vector) error {
	n := b.Len()
	v, err := evalArg(e.args[0], b, &e.bufs[0])
	if err != nil {
		return err
	}
	eq, err := evalArg(e.args[1], b, &e.bufs[1])
	if err != nil {
		return err
	}
	t := e.Type()
	copyVector(out, v, t, n)
	en := nullsOf(eq, n)
	for i, x := range eq.I64[:n] {
		if x != 0 && (en == nil || !en[i]) {
			out.SetNull(i)
		}
	}
	return nil
}

// inExpr is e [NOT] IN (list).
type inExpr struct {
	args []Expr // e, list...
	not  bool
	// Constant lists are precomputed.
	constList bool
	hasNull   bool
	i64s      map[int64]struct{}
	f64s      map[float64]struct{}
	strs      map[string]struct{}
	bufs      []types.Vector
}

func (*inExpr) isOperator() {}

// In returns e [NOT] IN (list). The value and the list are converted to
// their common type. NULL semantics: NULL when e is NULL, or when e is not
// found and the list holds a NULL.
func In(e Expr, list []Expr, not bool) (Expr, error) {
	if len(list) == 0 {
		return nil, typeErr("IN needs at least one value")
	}
	all, _, err := unify("IN", append([]Expr{e}, list...))
	if err != nil {
		return nil, inTypeError(e, list, err)
	}
	in := &inExpr{args: all, not: not, bufs: make([]types.Vector, len(all))}
	in.constList = true
	for _, x := range all[1:] {
		if !IsConst(x) {
			in.constList = false
		}
	}
	if in.constList {
		in.i64s, in.f64s, in.strs = map[int64]struct{}{}, map[float64]struct{}{}, map[string]struct{}{}
		for i, x := range all[1:] {
			d, err := constValue(x)
			if err != nil {
				return nil, err
			}
			all[i+1] = Lit(d)
			switch {
			case d.Null:
				in.hasNull = true
			case d.Type.Class() == types.ClassF64:
				in.f64s[d.F] = struct{}{}
			case d.Type.Class() == types.ClassStr:
				in.strs[d.S] = struct{}{}
			default:
				in.i64s[d.I] = struct{}{}
			}
		}
	}
	return in, nil
}

func inTypeError(e Expr, list []Expr, err error) error {
	if !errorsIsType(err) {
		return err
	}
	for _, x := range list {
		if _, ok := commonType(e.Type(), x.Type()); !ok {
			return typeErr("cannot compare %s with %s", e.Type().Kind, x.Type().Kind)
		}
	}
	return err
}

func (e *inExpr) Type() types.Type { return types.Bool }
func (e *inExpr) children() []Expr { return e.args }
func (e *inExpr) Clone() Expr {
	c := *e
	c.args = cloneAll(e.args)
	c.bufs = make([]types.Vector, len(e.args))
	return &c
}

func (e *inExpr) String() string {
	var sb strings.Builder
	sb.WriteString(paren(e.args[0]))
	if e.not {
		sb.WriteString(" NOT")
	}
	sb.WriteString(" IN (")
	for i, x := range e.args[1:] {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(x.String())
	}
	sb.WriteString(")")
	return sb.String()
}

func (e *inExpr) Eval(b *types.Batch, out *types.Vector) error {
	n := b.Len()
	v, err := evalArg(e.args[0], b, &e.bufs[0])
	if err != nil {
		return err
	}
	prepare(out, types.Bool, n)
	o := out.I64[:n]
	found := o // 1 where found
	if e.constList {
		switch v.Type.Class() {
		case types.ClassF64:
			for i, x := range v.F64[:n] {
				_, ok := e.f64s[x]
				found[i] = b2i(ok)
			}
		case types.ClassStr:
			for i, x := range v.Str[:n] {
				_, ok := e.strs[x]
				found[i] = b2i(ok)
			}
		default:
			for i, x := range v.I64[:n] {
				_, ok := e.i64s[x]
				found[i] = b2i(ok)
			}
		}
		e.finish(out, v, nil, n)
		return nil
	}
	// General list: compare with each item; remember NULL items per row.
	clear(found)
	sawNull := ensureNulls(out, n) // reused as "some item was NULL"
	for k := 1; k < len(e.args); k++ {
		item, err := evalArg(e.args[k], b, &e.bufs[k])
		if err != nil {
			return err
		}
		in := nullsOf(item, n)
		for i := range found {
			if in != nil && in[i] {
				sawNull[i] = true
				continue
			}
			var eq bool
			switch v.Type.Class() {
			case types.ClassF64:
				eq = v.F64[i] == item.F64[i]
			case types.ClassStr:
				eq = v.Str[i] == item.Str[i]
			default:
				eq = v.I64[i] == item.I64[i]
			}
			if eq {
				found[i] = 1
			}
		}
	}
	e.finish(out, v, sawNull, n)
	return nil
}

// finish turns found flags into the three-valued result.
func (e *inExpr) finish(out, v *types.Vector, sawNull []bool, n int) {
	o := out.I64[:n]
	vn := nullsOf(v, n)
	var nulls []bool
	if vn != nil || e.hasNull || sawNull != nil {
		nulls = ensureNulls(out, n)
	}
	neg := b2i(e.not)
	for i := range o {
		isNull := (vn != nil && vn[i]) || (o[i] == 0 && (e.hasNull || (sawNull != nil && sawNull[i])))
		if nulls != nil {
			nulls[i] = isNull
		}
		if isNull {
			o[i] = 0
		} else {
			o[i] ^= neg
		}
	}
}

// Between returns e [NOT] BETWEEN lo AND hi, as e >= lo AND e <= hi (or
// e < lo OR e > hi).
func Between(e, lo, hi Expr, not bool) (Expr, error) {
	if not {
		a, err := newCompare(opLT, e, lo)
		if err != nil {
			return nil, err
		}
		b, err := newCompare(opGT, e, hi)
		if err != nil {
			return nil, err
		}
		return Or(a, b)
	}
	a, err := newCompare(opGE, e, lo)
	if err != nil {
		return nil, err
	}
	b, err := newCompare(opLE, e, hi)
	if err != nil {
		return nil, err
	}
	return And(a, b)
}

func callString(name string, args []Expr) string {
	var sb strings.Builder
	sb.WriteString(name)
	sb.WriteByte('(')
	for i, a := range args {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(a.String())
	}
	sb.WriteByte(')')
	return sb.String()
}
