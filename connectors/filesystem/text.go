package filesystem

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/sluicesql/sluice/exec/types"
)

// Parsing of the text form of values (CSV fields, JSON strings and number
// tokens) straight into a vector slot.

// valueError reports text that is not a valid value of a column type.
type valueError struct {
	typ  types.Type
	text string
}

func (e *valueError) Error() string {
	return fmt.Sprintf("invalid %s value '%s'", e.typ, e.text)
}

func badValue(t types.Type, b []byte) error {
	const maxShown = 64
	s := string(b)
	if len(s) > maxShown {
		s = s[:maxShown] + "..."
	}
	return &valueError{typ: t, text: s}
}

// trimSpace removes ASCII spaces and tabs around b.
func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// setText parses b, the text of a non-NULL value, into row r of v. Strings
// are copied into a; other types ignore surrounding spaces.
func setText(v *types.Vector, r int, b []byte, a *arena) error {
	t := v.Type
	switch t.Kind {
	case types.KindChar, types.KindVarchar, types.KindString:
		v.Str[r] = a.str(b)
		return nil
	case types.KindBytes:
		s, err := a.base64(trimSpace(b))
		if err != nil {
			return badValue(t, b)
		}
		v.Str[r] = s
		return nil
	}
	tb := trimSpace(b)
	var err error
	switch t.Kind {
	case types.KindBool:
		v.I64[r], err = parseBool(tb)
	case types.KindTinyInt, types.KindSmallInt, types.KindInt, types.KindBigInt:
		v.I64[r], err = parseInteger(tb, t.Kind)
	case types.KindFloat, types.KindDouble:
		v.F64[r], err = parseFloat(tb, t.Kind)
	case types.KindDecimal:
		v.I64[r], err = parseDecimal(tb, t.Precision, t.Scale)
	case types.KindDate:
		v.I64[r], err = parseDate(tb)
	case types.KindTime:
		var us int64
		us, err = parseTime(tb)
		v.I64[r] = truncateMicros(us, t.Precision)
	case types.KindTimestamp, types.KindTimestampLTZ:
		var us int64
		us, err = parseTimestamp(tb)
		v.I64[r] = truncateMicros(us, t.Precision)
	default:
		err = errors.ErrUnsupported
	}
	if err != nil {
		return badValue(t, b)
	}
	return nil
}

var errSyntax = errors.New("syntax")

func parseBool(b []byte) (int64, error) {
	switch {
	case len(b) == 4 && (b[0]|0x20) == 't' && (b[1]|0x20) == 'r' && (b[2]|0x20) == 'u' && (b[3]|0x20) == 'e':
		return 1, nil
	case len(b) == 5 && (b[0]|0x20) == 'f' && (b[1]|0x20) == 'a' && (b[2]|0x20) == 'l' && (b[3]|0x20) == 's' && (b[4]|0x20) == 'e':
		return 0, nil
	}
	return 0, errSyntax
}

// parseInteger parses an optionally signed decimal integer within the range
// of kind.
func parseInteger(b []byte, kind types.Kind) (int64, error) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, errSyntax
	}
	var u uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, errSyntax
		}
		u = u*10 + uint64(c-'0') // 19 digits cannot overflow uint64
	}
	if u > math.MaxInt64+1 || (!neg && u > math.MaxInt64) {
		return 0, errSyntax
	}
	v := int64(u)
	if neg {
		v = -v
	}
	var lo, hi int64 = math.MinInt64, math.MaxInt64
	switch kind {
	case types.KindTinyInt:
		lo, hi = math.MinInt8, math.MaxInt8
	case types.KindSmallInt:
		lo, hi = math.MinInt16, math.MaxInt16
	case types.KindInt:
		lo, hi = math.MinInt32, math.MaxInt32
	}
	if v < lo || v > hi {
		return 0, errSyntax
	}
	return v, nil
}

func parseFloat(b []byte, kind types.Kind) (float64, error) {
	bits := 64
	if kind == types.KindFloat {
		bits = 32
	}
	// string(b) does not escape here, so the conversion does not allocate
	// for short numbers.
	return strconv.ParseFloat(string(b), bits)
}

// parseDecimal parses a decimal number (with optional fraction and exponent,
// as JSON allows) into an unscaled DECIMAL(p, s) value, exactly: digits
// beyond the scale are rounded half away from zero, values needing more
// than p digits are an error.
func parseDecimal(b []byte, p, s int) (int64, error) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	// Split into integer digits, fraction digits and exponent.
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	intDigits := b[:i]
	var fracDigits []byte
	if i < len(b) && b[i] == '.' {
		j := i + 1
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		fracDigits, i = b[i+1:j], j
	}
	if len(intDigits)+len(fracDigits) == 0 {
		return 0, errSyntax
	}
	exp := int64(0)
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		e, err := parseInteger(b[i+1:], types.KindInt)
		if err != nil || e > 1000 || e < -1000 {
			return 0, errSyntax
		}
		exp, i = e, len(b)
	}
	if i != len(b) {
		return 0, errSyntax
	}
	// value = D × 10^shift where D is all digits read as an integer.
	shift := int64(s) + exp - int64(len(fracDigits))
	nd := int64(len(intDigits) + len(fracDigits))
	keep := nd + shift                     // digits of D kept before the decimal point of the unscaled value
	lim := types.Pow10[min(max(p, 0), 18)] // unscaled values are < 10^p
	var v int64
	digitAt := func(k int64) int64 {
		if k < int64(len(intDigits)) {
			return int64(intDigits[k] - '0')
		}
		return int64(fracDigits[k-int64(len(intDigits))] - '0')
	}
	for k := int64(0); k < keep; k++ {
		d := int64(0) // shift > 0: trailing zeros
		if k < nd {
			d = digitAt(k)
		}
		if v > (lim-1-d)/10 {
			return 0, errSyntax
		}
		v = v*10 + d
	}
	if keep >= 0 && keep < nd && digitAt(keep) >= 5 {
		v++
	}
	if v >= lim {
		return 0, errSyntax
	}
	if neg {
		v = -v
	}
	return v, nil
}
