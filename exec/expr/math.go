package expr

import (
	"math"

	"github.com/sluicesql/sluice/exec/types"
)

func init() {
	register("ABS", 1, 1, buildAbs)
	register("MOD", 2, 2, func(_ string, a []Expr) (Expr, error) { return newArith(opMod, a[0], a[1]) })
	register("ROUND", 1, 2, buildRound)
	register("TRUNCATE", 2, 2, buildRound)
	register("FLOOR", 1, 1, buildFloorCeil)
	register("CEIL CEILING", 1, 1, buildFloorCeil)
	register("SIGN", 1, 1, buildSign)
	register("PI", 0, 0, func(name string, _ []Expr) (Expr, error) {
		return Lit(types.DoubleDatum(math.Pi)), nil
	})
	register("GREATEST", 1, -1, buildGreatest)
	register("LEAST", 1, -1, buildGreatest)
	register("POWER POW", 2, 2, doubleFn(math.Pow))
	register("ATAN2", 2, 2, doubleFn(math.Atan2))
	register("SQRT", 1, 1, doubleFn1(func(x float64) float64 {
		if x < 0 {
			return math.NaN()
		}
		return math.Sqrt(x)
	}))
	register("EXP", 1, 1, doubleFn1(math.Exp))
	register("LN", 1, 1, doubleFn1(logOf(math.Log)))
	register("LOG10", 1, 1, doubleFn1(logOf(math.Log10)))
	register("LOG2", 1, 1, doubleFn1(logOf(math.Log2)))
	register("LOG", 1, 2, buildLog)
	for name, fn := range map[string]func(float64) float64{
		"SIN": math.Sin, "COS": math.Cos, "TAN": math.Tan, "ASIN": math.Asin, "ACOS": math.Acos,
		"ATAN": math.Atan, "COT": func(x float64) float64 { return 1 / math.Tan(x) },
		"DEGREES": func(x float64) float64 { return x * 180 / math.Pi },
		"RADIANS": func(x float64) float64 { return x * math.Pi / 180 },
	} {
		register(name, 1, 1, doubleFn1(fn))
	}
}

// logOf returns NULL (NaN) for non-positive arguments, as MySQL does.
func logOf(fn func(float64) float64) func(float64) float64 {
	return func(x float64) float64 {
		if x <= 0 {
			return math.NaN()
		}
		return fn(x)
	}
}

// finishDouble turns NaN results into NULL and infinite results of finite
// arguments into an out-of-range error.
func finishDouble(f *fnExpr, out *types.Vector, n int) error {
	for i, v := range out.F64[:n] {
		if math.IsNaN(v) {
			if !out.IsNull(i) {
				setNullAt(out, i)
			}
			out.F64[i] = 0
		} else if math.IsInf(v, 0) && !out.IsNull(i) {
			return rangeErr("DOUBLE", f)
		}
	}
	return nil
}

func doubleFn1(fn func(float64) float64) builder {
	return func(name string, args []Expr) (Expr, error) {
		x, ok := asDouble(args[0])
		if !ok {
			return nil, argTypeErr(name, args)
		}
		return newFn(name, types.Double, []Expr{x}, func(f *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
			for i, v := range in[0].F64[:n] {
				out.F64[i] = fn(v)
			}
			return finishDouble(f, out, n)
		}), nil
	}
}

func doubleFn(fn func(a, b float64) float64) builder {
	return func(name string, args []Expr) (Expr, error) {
		x, ok1 := asDouble(args[0])
		y, ok2 := asDouble(args[1])
		if !ok1 || !ok2 {
			return nil, argTypeErr(name, args)
		}
		return newFn(name, types.Double, []Expr{x, y}, func(f *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
			for i, v := range in[0].F64[:n] {
				out.F64[i] = fn(v, in[1].F64[i])
			}
			return finishDouble(f, out, n)
		}), nil
	}
}

// buildLog: LOG(x) is the natural logarithm, LOG(b, x) the base-b one.
func buildLog(name string, args []Expr) (Expr, error) {
	if len(args) == 1 {
		return doubleFn1(logOf(math.Log))(name, args)
	}
	return doubleFn(func(b, x float64) float64 {
		if b <= 0 || b == 1 || x <= 0 {
			return math.NaN()
		}
		return math.Log(x) / math.Log(b)
	})(name, args)
}

func buildAbs(name string, args []Expr) (Expr, error) {
	x, ok := asNumber(args[0])
	if !ok {
		return nil, argTypeErr(name, args)
	}
	t := x.Type().Nullable()
	if t.IsInteger() || t.Kind == types.KindBool {
		t = types.BigInt
	}
	if t.IsFloat() {
		t = types.Double
		if x, ok = asDouble(x); !ok {
			return nil, argTypeErr(name, args)
		}
	}
	return newFn(name, t, []Expr{x}, func(f *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		if t.Class() == types.ClassF64 {
			for i, v := range in[0].F64[:n] {
				out.F64[i] = math.Abs(v)
			}
			return nil
		}
		for i, v := range in[0].I64[:n] {
			if v == math.MinInt64 {
				return rangeErr(t.Kind.String(), f)
			}
			if v < 0 {
				v = -v
			}
			out.I64[i] = v
		}
		return nil
	}), nil
}

func buildSign(name string, args []Expr) (Expr, error) {
	x, ok := asNumber(args[0])
	if !ok {
		return nil, argTypeErr(name, args)
	}
	if x.Type().IsFloat() {
		x, _ = asDouble(x)
	}
	return newFn(name, types.Int, []Expr{x}, func(_ *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		if in[0].Type.Class() == types.ClassF64 {
			for i, v := range in[0].F64[:n] {
				switch {
				case v > 0:
					out.I64[i] = 1
				case v < 0:
					out.I64[i] = -1
				default:
					out.I64[i] = 0
				}
			}
			return nil
		}
		for i, v := range in[0].I64[:n] {
			out.I64[i] = int64(cmpInt(v, 0))
		}
		return nil
	}), nil
}

// buildRound handles ROUND(x[, d]) and TRUNCATE(x, d). Exact types round
// half away from zero and keep their kind: an integer stays BIGINT, a
// DECIMAL(p, s) becomes DECIMAL(p', d) for a constant d < s. DOUBLE rounds
// half away from zero on the binary value.
func buildRound(name string, args []Expr) (Expr, error) {
	x, ok := asNumber(args[0])
	if !ok {
		return nil, argTypeErr(name, args)
	}
	var d Expr = Lit(types.IntDatum(0))
	if len(args) == 2 {
		if d, ok = asInt(args[1]); !ok {
			return nil, argTypeErr(name, args)
		}
	}
	trunc := name == "TRUNCATE"
	xt := x.Type()
	constD, haveConst := int64(0), false
	if IsConst(d) {
		v, err := constValue(d)
		if err != nil {
			return nil, err
		}
		if !v.Null {
			constD, haveConst = v.I, true
		}
	}
	var t types.Type
	switch {
	case xt.IsFloat():
		x, _ = asDouble(x)
		t = types.Double
	case xt.Kind == types.KindDecimal:
		p, s := decimalParams(xt)
		t = xt.Nullable()
		if haveConst && constD < int64(s) {
			ns := int(max(constD, 0))
			t = types.Decimal(min(p-s+ns+1, types.MaxDecimalPrecision), ns)
		}
	default:
		t = types.BigInt
	}
	return newFn(name, t, []Expr{x, d}, func(f *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		if t.Class() == types.ClassF64 {
			for i, v := range in[0].F64[:n] {
				out.F64[i] = roundFloat(v, in[1].I64[i], trunc)
			}
			return finishDouble(f, out, n)
		}
		_, s := decimalParams(in[0].Type)
		for i, v := range in[0].I64[:n] {
			if out.IsNull(i) {
				continue
			}
			r, ok := roundScaled(v, s, in[1].I64[i], trunc)
			if ok {
				// Express at the result scale.
				r, ok = rescale(r, s, t.Scale)
			}
			if !ok || (t.Kind == types.KindDecimal && (r >= decimalLimit(t) || r <= -decimalLimit(t))) {
				return rangeErr(t.Kind.String(), f)
			}
			out.I64[i] = r
		}
		return nil
	}), nil
}

// roundScaled rounds (or truncates) v of scale s to d fractional digits,
// returning the value still at scale s.
func roundScaled(v int64, s int, d int64, trunc bool) (int64, bool) {
	drop := int64(s) - d // digits to clear
	if drop <= 0 {
		return v, true
	}
	if drop > types.MaxDecimalPrecision {
		return 0, true
	}
	p := types.Pow10[drop]
	var q int64
	if trunc {
		q = v / p
	} else {
		q = divRound(v, p)
	}
	return mulCheck(q, p)
}

func roundFloat(v float64, d int64, trunc bool) float64 {
	if d > 30 || math.IsInf(v, 0) || math.IsNaN(v) {
		return v
	}
	if d < -30 {
		return 0
	}
	p := math.Pow(10, float64(d))
	x := v * p
	if math.IsInf(x, 0) {
		return v
	}
	if trunc {
		return math.Trunc(x) / p
	}
	return math.Round(x) / p
}

func buildFloorCeil(name string, args []Expr) (Expr, error) {
	x, ok := asNumber(args[0])
	if !ok {
		return nil, argTypeErr(name, args)
	}
	ceil := name != "FLOOR"
	xt := x.Type()
	var t types.Type
	switch {
	case xt.IsFloat():
		x, _ = asDouble(x)
		t = types.Double
	case xt.Kind == types.KindDecimal:
		p, s := decimalParams(xt)
		t = types.Decimal(min(p-s+1, types.MaxDecimalPrecision), 0)
	default:
		t = types.BigInt
	}
	return newFn(name, t, []Expr{x}, func(f *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		if t.Class() == types.ClassF64 {
			for i, v := range in[0].F64[:n] {
				if ceil {
					out.F64[i] = math.Ceil(v)
				} else {
					out.F64[i] = math.Floor(v)
				}
			}
			return nil
		}
		_, s := decimalParams(in[0].Type)
		if s == 0 {
			copy(out.I64, in[0].I64[:n])
			return nil
		}
		p := types.Pow10[s]
		for i, v := range in[0].I64[:n] {
			q := floorDiv(v, p)
			if ceil && q*p != v {
				q++
			}
			out.I64[i] = q
		}
		return nil
	}), nil
}

// buildGreatest: GREATEST/LEAST over the arguments' common type; NULL when
// any argument is NULL (MySQL).
func buildGreatest(name string, args []Expr) (Expr, error) {
	a, t, err := unify(name, args)
	if err != nil {
		return nil, err
	}
	if isNull(t) {
		t = types.BigInt
		for i := range a {
			a[i], _ = implicitCast(a[i], t)
		}
	}
	least := name == "LEAST"
	return newFn(name, t, a, func(_ *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		for i := 0; i < n; i++ {
			switch t.Class() {
			case types.ClassF64:
				best := in[0].F64[i]
				for _, v := range in[1:] {
					if (v.F64[i] < best) == least && v.F64[i] != best {
						best = v.F64[i]
					}
				}
				out.F64[i] = best
			case types.ClassStr:
				best := in[0].Str[i]
				for _, v := range in[1:] {
					if (v.Str[i] < best) == least && v.Str[i] != best {
						best = v.Str[i]
					}
				}
				out.Str[i] = best
			default:
				best := in[0].I64[i]
				for _, v := range in[1:] {
					if (v.I64[i] < best) == least && v.I64[i] != best {
						best = v.I64[i]
					}
				}
				out.I64[i] = best
			}
		}
		return nil
	}), nil
}
