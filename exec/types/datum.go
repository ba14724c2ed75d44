package types

import (
	"strconv"
	"strings"
	"time"
)

// Datum is one typed value outside the columnar hot path: literals,
// single-row results, keys. The field used is chosen by Type.Class().
type Datum struct {
	Type Type
	Null bool
	I    int64
	F    float64
	S    string
}

// NullDatum returns a NULL of type t.
func NullDatum(t Type) Datum { return Datum{Type: t, Null: true} }

// IntDatum returns a BIGINT datum.
func IntDatum(v int64) Datum { return Datum{Type: BigInt, I: v} }

// BoolDatum returns a BOOLEAN datum.
func BoolDatum(v bool) Datum {
	d := Datum{Type: Bool}
	if v {
		d.I = 1
	}
	return d
}

// DoubleDatum returns a DOUBLE datum.
func DoubleDatum(v float64) Datum { return Datum{Type: Double, F: v} }

// StringDatum returns a STRING datum.
func StringDatum(v string) Datum { return Datum{Type: String, S: v} }

// DecimalDatum returns a DECIMAL(p, s) datum whose unscaled value is v.
func DecimalDatum(v int64, p, s int) Datum { return Datum{Type: Decimal(p, s), I: v} }

// Pow10 holds 10^i for i in 0..18.
var Pow10 = [19]int64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
	1e13, 1e14, 1e15, 1e16, 1e17, 1e18}

// Epoch is the zero of DATE and TIMESTAMP values.
var Epoch = time.Unix(0, 0).UTC()

// MicrosToTime converts a TIMESTAMP value to a UTC time.Time.
func MicrosToTime(us int64) time.Time { return time.UnixMicro(us).UTC() }

// TimeToMicros converts a time.Time to a TIMESTAMP value (its wall clock read as UTC).
func TimeToMicros(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC).UnixMicro()
}

// DaysToTime converts a DATE value to a UTC midnight.
func DaysToTime(days int64) time.Time { return Epoch.AddDate(0, 0, int(days)) }

// TimeToDays converts a time.Time's calendar date to a DATE value.
func TimeToDays(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// FormatDecimal prints an unscaled decimal v with scale s, e.g. (12345, 2) → "123.45".
func FormatDecimal(v int64, s int) string {
	if s == 0 {
		return strconv.FormatInt(v, 10)
	}
	neg := v < 0
	u := uint64(v)
	if neg {
		u = uint64(-v)
	}
	digits := strconv.FormatUint(u, 10)
	if len(digits) <= s {
		digits = strings.Repeat("0", s-len(digits)+1) + digits
	}
	out := digits[:len(digits)-s] + "." + digits[len(digits)-s:]
	if neg {
		out = "-" + out
	}
	return out
}

// FormatFloat prints a float the way MySQL does for DOUBLE: the shortest
// representation that round-trips, with an exponent only for very large or
// small magnitudes.
func FormatFloat(f float64, bits int) string {
	return strconv.FormatFloat(f, 'g', -1, bits)
}

// FormatTime prints µs since midnight as HH:MM:SS with prec fractional digits.
func FormatTime(us int64, prec int) string {
	neg := us < 0
	if neg {
		us = -us
	}
	h := us / 3_600_000_000
	m := us / 60_000_000 % 60
	sec := us / 1_000_000 % 60
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	pad2(&b, h)
	b.WriteByte(':')
	pad2(&b, m)
	b.WriteByte(':')
	pad2(&b, sec)
	writeFraction(&b, us%1_000_000, prec)
	return b.String()
}

// FormatDate prints a DATE value as YYYY-MM-DD.
func FormatDate(days int64) string { return DaysToTime(days).Format("2006-01-02") }

// FormatTimestamp prints a TIMESTAMP value as YYYY-MM-DD HH:MM:SS with prec
// fractional digits.
func FormatTimestamp(us int64, prec int) string {
	t := MicrosToTime(us)
	var b strings.Builder
	b.WriteString(t.Format("2006-01-02 15:04:05"))
	frac := us % 1_000_000
	if frac < 0 {
		frac += 1_000_000
	}
	writeFraction(&b, frac, prec)
	return b.String()
}

func pad2(b *strings.Builder, v int64) {
	if v < 10 {
		b.WriteByte('0')
	}
	b.WriteString(strconv.FormatInt(v, 10))
}

func writeFraction(b *strings.Builder, frac int64, prec int) {
	if prec <= 0 {
		return
	}
	if prec > 6 {
		prec = 6
	}
	s := strconv.FormatInt(frac+1_000_000, 10)[1:]
	b.WriteByte('.')
	b.WriteString(s[:prec])
}

// String prints d as SQL text results show it: NULL, TRUE/FALSE, numbers,
// strings unquoted, temporal values in ISO form.
func (d Datum) String() string {
	if d.Null {
		return "NULL"
	}
	switch d.Type.Kind {
	case KindBool:
		if d.I != 0 {
			return "TRUE"
		}
		return "FALSE"
	case KindTinyInt, KindSmallInt, KindInt, KindBigInt:
		return strconv.FormatInt(d.I, 10)
	case KindDecimal:
		return FormatDecimal(d.I, d.Type.Scale)
	case KindFloat:
		return FormatFloat(d.F, 32)
	case KindDouble:
		return FormatFloat(d.F, 64)
	case KindChar, KindVarchar, KindString, KindBytes:
		return d.S
	case KindDate:
		return FormatDate(d.I)
	case KindTime:
		return FormatTime(d.I, d.Type.Precision)
	case KindTimestamp, KindTimestampLTZ:
		return FormatTimestamp(d.I, d.Type.Precision)
	}
	return "NULL"
}

// Compare orders two non-NULL datums of the same class: -1, 0 or 1. Strings
// compare bytewise; numbers numerically (decimals must share a scale).
func Compare(a, b Datum) int {
	switch a.Type.Class() {
	case ClassF64:
		switch {
		case a.F < b.F:
			return -1
		case a.F > b.F:
			return 1
		}
		return 0
	case ClassStr:
		return strings.Compare(a.S, b.S)
	default:
		switch {
		case a.I < b.I:
			return -1
		case a.I > b.I:
			return 1
		}
		return 0
	}
}
