package expr

import (
	"strings"

	"github.com/sluicesql/sluice/exec/types"
)

// Type rules shared by operators and functions.

func isNumeric(t types.Type) bool { return t.IsNumeric() }

// isExact reports integer, BOOLEAN-as-number and DECIMAL types.
func isExact(t types.Type) bool {
	return t.IsInteger() || t.Kind == types.KindDecimal || t.Kind == types.KindBool
}

func isNull(t types.Type) bool { return t.Kind == types.KindNull }

func isTimestamp(t types.Type) bool {
	return t.Kind == types.KindTimestamp || t.Kind == types.KindTimestampLTZ
}

// intRank orders integer kinds by width (BOOLEAN counts as the narrowest).
func intRank(k types.Kind) int {
	switch k {
	case types.KindBool:
		return 0
	case types.KindTinyInt:
		return 1
	case types.KindSmallInt:
		return 2
	case types.KindInt:
		return 3
	}
	return 4
}

// commonType returns the type two values of types a and b are converted to
// when they meet in CASE, COALESCE, IF, IN, GREATEST...: NULL adopts the
// other type, integers widen, integer+decimal → decimal, any float →
// DOUBLE, strings → VARCHAR(max) or STRING, DATE+TIMESTAMP → TIMESTAMP.
func commonType(a, b types.Type) (types.Type, bool) {
	a, b = a.Nullable(), b.Nullable()
	switch {
	case isNull(a):
		return b, true
	case isNull(b):
		return a, true
	case a == b:
		return a, true
	case a.Kind == types.KindBool && b.Kind == types.KindBool:
		return types.Bool, true
	case a.IsFloat() && isNumeric(b) || b.IsFloat() && isNumeric(a):
		return types.Double, true
	case (a.IsInteger() || a.Kind == types.KindBool) && (b.IsInteger() || b.Kind == types.KindBool):
		if intRank(a.Kind) >= intRank(b.Kind) {
			return a, true
		}
		return b, true
	case isExact(a) && isExact(b):
		pa, sa := decimalParams(a)
		pb, sb := decimalParams(b)
		s := max(sa, sb)
		p := min(max(pa-sa, pb-sb)+s, types.MaxDecimalPrecision)
		return types.Decimal(p, s), true
	case a.IsString() && b.IsString():
		switch {
		case a.Kind == types.KindBytes && b.Kind == types.KindBytes:
			return types.Bytes, true
		case (a.Kind == types.KindVarchar || a.Kind == types.KindChar) &&
			(b.Kind == types.KindVarchar || b.Kind == types.KindChar) && a.Length > 0 && b.Length > 0:
			return types.Varchar(max(a.Length, b.Length)), true
		}
		return types.String, true
	case a.Kind == b.Kind && (isTimestamp(a) || a.Kind == types.KindTime):
		if a.Precision >= b.Precision {
			return a, true
		}
		return b, true
	case isTimestamp(a) && isTimestamp(b):
		return types.Type{Kind: types.KindTimestamp, Precision: max(a.Precision, b.Precision)}, true
	case isTimestamp(a) && b.Kind == types.KindDate:
		return a, true
	case isTimestamp(b) && a.Kind == types.KindDate:
		return b, true
	}
	return types.Type{}, false
}

// constString returns the value of e when it is a constant string
// expression (after folding).
func constString(e Expr) (string, bool) {
	if !e.Type().IsString() || !IsConst(e) {
		return "", false
	}
	d, err := constValue(e)
	if err != nil || d.Null {
		return "", false
	}
	return d.S, true
}

// constValue evaluates a constant expression.
func constValue(e Expr) (types.Datum, error) {
	if d, ok := LitValue(e); ok {
		return d, nil
	}
	f, err := Fold(e)
	if err != nil {
		return types.Datum{}, err
	}
	d, _ := LitValue(f)
	return d, nil
}

// numericLiteral gives the natural numeric type of a numeric string:
// INT/BIGINT for integers, DECIMAL for a fixed point text, DOUBLE otherwise.
func numericLiteral(s string) (types.Datum, bool) {
	s = trimSpace(s)
	if v, ok := parseInt(s); ok {
		return IntLiteral(v), true
	}
	if !strings.ContainsAny(s, "eE") {
		frac := 0
		if i := strings.IndexByte(s, '.'); i >= 0 {
			frac = len(s) - i - 1
		}
		if frac <= types.MaxDecimalPrecision {
			if v, ok, overflow := parseDecimal(s, frac); ok && !overflow {
				intDigits := strings.TrimLeft(strings.TrimLeft(s, "+-"), "0")
				if i := strings.IndexByte(intDigits, '.'); i >= 0 {
					intDigits = intDigits[:i]
				}
				p := min(max(len(intDigits)+frac, 1), types.MaxDecimalPrecision)
				return types.DecimalDatum(v, p, frac), true
			}
		}
	}
	if f, ok := parseFloat(s); ok {
		return types.DoubleDatum(f), true
	}
	return types.Datum{}, false
}

// IntLiteral returns the datum of an integer literal: INT when the value
// fits 32 bits (as Flink types literals), BIGINT otherwise.
func IntLiteral(v int64) types.Datum {
	if v >= -1<<31 && v < 1<<31 {
		return types.Datum{Type: types.Int, I: v}
	}
	return types.IntDatum(v)
}

// coerceStringLiteral converts a constant string expression e to a literal
// matching the other operand's type class (numeric, temporal, boolean).
// It returns e unchanged when no conversion applies, and ErrInvalidLiteral
// when the text does not parse ("cannot cast 'abc' to DATE").
func coerceStringLiteral(e Expr, other types.Type) (Expr, error) {
	if !(isNumeric(other) || other.IsTemporal() || other.Kind == types.KindBool) {
		return e, nil
	}
	s, ok := constString(e)
	if !ok {
		return e, nil
	}
	fail := func() error {
		return newErr(ErrInvalidLiteral, "cannot cast '%s' to %s", s, other.Kind)
	}
	switch {
	case isNumeric(other):
		d, ok := numericLiteral(s)
		if !ok {
			return nil, fail()
		}
		return Lit(d), nil
	case other.Kind == types.KindBool:
		v, ok := parseBool(s)
		if !ok {
			return nil, fail()
		}
		return Lit(types.BoolDatum(v)), nil
	case other.Kind == types.KindDate:
		if timestampHasTime(s) {
			us, ok := parseTimestamp(s)
			if !ok {
				return nil, fail()
			}
			return Lit(types.Datum{Type: types.Type{Kind: types.KindTimestamp, Precision: fractionDigits(s)}, I: us}), nil
		}
		d, ok := parseDate(s)
		if !ok {
			return nil, fail()
		}
		return Lit(types.Datum{Type: types.Date, I: d}), nil
	case other.Kind == types.KindTime:
		us, ok := parseTime(s)
		if !ok {
			return nil, fail()
		}
		return Lit(types.Datum{Type: types.Type{Kind: types.KindTime, Precision: fractionDigits(s)}, I: us}), nil
	default: // TIMESTAMP, TIMESTAMP_LTZ
		us, ok := parseTimestamp(s)
		if !ok {
			return nil, fail()
		}
		return Lit(types.Datum{Type: types.Type{Kind: other.Kind, Precision: max(other.Precision, fractionDigits(s))}, I: us}), nil
	}
}

// coercePair applies string-literal coercion in both directions.
func coercePair(l, r Expr) (Expr, Expr, error) {
	var err error
	if l.Type().IsString() && !r.Type().IsString() {
		if l, err = coerceStringLiteral(l, r.Type()); err != nil {
			return nil, nil, err
		}
	} else if r.Type().IsString() && !l.Type().IsString() {
		if r, err = coerceStringLiteral(r, l.Type()); err != nil {
			return nil, nil, err
		}
	}
	return l, r, nil
}

// unify converts es to their common type (string literals are first
// coerced to the non-string types around them). what names the construct
// for the error message.
func unify(what string, es []Expr) ([]Expr, types.Type, error) {
	out := make([]Expr, len(es))
	copy(out, es)
	// The first non-string, non-NULL type drives string-literal coercion.
	var anchor *types.Type
	for _, e := range out {
		if t := e.Type(); !t.IsString() && !isNull(t) {
			anchor = &t
			break
		}
	}
	if anchor != nil {
		for i, e := range out {
			if e.Type().IsString() {
				c, err := coerceStringLiteral(e, *anchor)
				if err != nil {
					return nil, types.Type{}, err
				}
				out[i] = c
			}
		}
	}
	t := types.Null
	for _, e := range out {
		ct, ok := commonType(t, e.Type())
		if !ok {
			return nil, types.Type{}, typeErr("cannot find a common type for %s and %s in %s", t.Kind, e.Type().Kind, what)
		}
		t = ct
	}
	for i, e := range out {
		c, err := implicitCast(e, t)
		if err != nil {
			return nil, types.Type{}, err
		}
		out[i] = c
	}
	return out, t, nil
}

// NumericLiteral types a numeric literal's text as Sluice does: integers
// are INT when they fit 32 bits and BIGINT otherwise; fixed-point text is
// DECIMAL(p, s), or DOUBLE beyond 18 digits; text with an exponent is
// DOUBLE. ok is false when s is not a number.
func NumericLiteral(s string) (types.Datum, bool) { return numericLiteral(s) }

// ParseLiteral converts the text of a typed literal (DATE '2020-01-01',
// TIMESTAMP '...', TIME '...', or a constant converted at planning time)
// to a datum of type t. For TIME and TIMESTAMP a negative t.Precision
// takes the precision from the text's fractional digits. A text that does
// not parse is an ErrInvalidLiteral error ("cannot cast 'x' to DATE").
func ParseLiteral(s string, t types.Type) (types.Datum, error) {
	if (t.Kind == types.KindTimestamp || t.Kind == types.KindTimestampLTZ || t.Kind == types.KindTime) && t.Precision < 0 {
		t.Precision = fractionDigits(s)
	}
	c, err := Cast(Lit(types.StringDatum(s)), t)
	if err != nil {
		return types.Datum{}, err
	}
	d, err := constValue(c)
	if err != nil {
		return types.Datum{}, err
	}
	if d.Null {
		return types.Datum{}, newErr(ErrInvalidLiteral, "cannot cast '%s' to %s", s, t.Kind)
	}
	return d, nil
}

// CommonType returns the type values of types a and b are converted to
// when they meet in CASE, COALESCE, IN, UNION or VALUES: NULL adopts the
// other type, integers widen, integer and DECIMAL give DECIMAL, any
// FLOAT/DOUBLE gives DOUBLE, strings give VARCHAR(max n) or STRING, DATE
// and TIMESTAMP give TIMESTAMP. ok is false when there is none.
func CommonType(a, b types.Type) (types.Type, bool) { return commonType(a, b) }
