package expr

import (
	"github.com/sluicesql/sluice/exec/types"
)

// fnBody computes a function over n rows. in holds the evaluated
// arguments; out is prepared with the result type and, for strict
// functions, already carries the union of the arguments' NULLs (bodies may
// skip those rows and may mark more rows NULL with setNullAt).
type fnBody func(f *fnExpr, in []*types.Vector, out *types.Vector, n int) error

// fnExpr is a scalar function call.
type fnExpr struct {
	name     string
	args     []Expr
	t        types.Type
	body     fnBody
	strict   bool // NULL when any argument is NULL
	isVolat  bool // value changes between evaluations (NOW())
	aux      any  // immutable per-call data (compiled regexp, format); shared by clones
	cache    any  // mutable per-clone cache; not copied by Clone
	bufs     []types.Vector
	vecs     []*types.Vector
	printArg func(f *fnExpr) string // optional custom String
}

func newFn(name string, t types.Type, args []Expr, body fnBody) *fnExpr {
	return &fnExpr{name: name, args: args, t: t, body: body, strict: true,
		bufs: make([]types.Vector, len(args)), vecs: make([]*types.Vector, len(args))}
}

func (f *fnExpr) Type() types.Type { return f.t }
func (f *fnExpr) children() []Expr { return f.args }
func (f *fnExpr) volatile() bool   { return f.isVolat }
func (f *fnExpr) Clone() Expr {
	c := *f
	c.args = cloneAll(f.args)
	c.cache = nil
	c.bufs = make([]types.Vector, len(f.args))
	c.vecs = make([]*types.Vector, len(f.args))
	return &c
}

func (f *fnExpr) String() string {
	if f.printArg != nil {
		return f.printArg(f)
	}
	return callString(f.name, f.args)
}

func (f *fnExpr) Eval(b *types.Batch, out *types.Vector) error {
	n := b.Len()
	for i, a := range f.args {
		v, err := evalArg(a, b, &f.bufs[i])
		if err != nil {
			return err
		}
		f.vecs[i] = v
	}
	prepare(out, f.t, n)
	hasNulls := false
	if f.strict {
		hasNulls = unionNullsN(out, n, f.vecs)
	}
	if err := f.body(f, f.vecs, out, n); err != nil {
		return err
	}
	if hasNulls || out.Nulls != nil {
		zeroNullSlots(out)
	}
	return nil
}

// Argument coercions shared by the function families. Each returns the
// converted argument, or ok=false when the argument's type does not fit.

// asString converts any argument to a string (numbers and dates format as
// CAST(... AS STRING) does; an untyped NULL becomes a NULL STRING).
func asString(e Expr) (Expr, bool) {
	t := e.Type()
	if t.IsString() {
		return e, true
	}
	c, err := implicitCast(e, types.String)
	return c, err == nil
}

// asInt converts an integer-like argument to BIGINT: integers and
// booleans as is, DECIMAL and DOUBLE rounded, a constant numeric string
// parsed. Other strings and temporal values do not fit.
func asInt(e Expr) (Expr, bool) {
	t := e.Type()
	switch {
	case t.IsInteger() || t.Kind == types.KindBool:
		return e, true
	case isNull(t) || isNumeric(t):
		c, err := implicitCast(e, types.BigInt)
		return c, err == nil
	case t.IsString():
		if s, ok := constString(e); ok {
			if v, ok := parseInt(s); ok {
				return Lit(types.IntDatum(v)), true
			}
		}
	}
	return nil, false
}

// asDouble converts a numeric argument (or numeric string constant) to DOUBLE.
func asDouble(e Expr) (Expr, bool) {
	t := e.Type()
	switch {
	case isNull(t) || isNumeric(t) || t.Kind == types.KindBool:
		c, err := implicitCast(e, types.Double)
		return c, err == nil
	case t.IsString():
		if s, ok := constString(e); ok {
			if f, ok := parseFloat(s); ok {
				return Lit(types.DoubleDatum(f)), true
			}
		}
	}
	return nil, false
}

// asNumber accepts a numeric argument as is (a NULL becomes BIGINT, a
// numeric string constant its natural numeric type).
func asNumber(e Expr) (Expr, bool) {
	t := e.Type()
	switch {
	case isNumeric(t) || t.Kind == types.KindBool:
		return e, true
	case isNull(t):
		c, err := implicitCast(e, types.BigInt)
		return c, err == nil
	case t.IsString():
		if s, ok := constString(e); ok {
			if d, ok := numericLiteral(s); ok {
				return Lit(d), true
			}
		}
	}
	return nil, false
}

// asTemporal accepts DATE, TIMESTAMP and TIMESTAMP_LTZ as is; strings are
// converted to TIMESTAMP(6) (a constant that does not parse is an error,
// a column value that does not parse gives NULL).
func asTemporal(e Expr) (Expr, bool, error) {
	t := e.Type()
	switch {
	case t.Kind == types.KindDate || isTimestamp(t):
		return e, true, nil
	case isNull(t):
		c, err := implicitCast(e, types.Timestamp)
		return c, err == nil, nil
	case t.IsString():
		if _, ok := constString(e); ok {
			c, err := coerceStringLiteral(e, types.Timestamp)
			return c, err == nil, err
		}
		c, err := implicitCast(e, types.Timestamp)
		return c, err == nil, nil
	}
	return nil, false, nil
}

// asTimestamp is asTemporal followed by a DATE → TIMESTAMP widening.
func asTimestamp(e Expr) (Expr, bool, error) {
	c, ok, err := asTemporal(e)
	if !ok || err != nil {
		return c, ok, err
	}
	if c.Type().Kind == types.KindDate {
		c, err = implicitCast(c, types.Type{Kind: types.KindTimestamp})
		return c, err == nil, nil
	}
	return c, true, nil
}
