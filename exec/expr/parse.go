package expr

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/sluicesql/sluice/exec/types"
)

// Text → value parsers used by CAST and by constant coercion. None of them
// allocates; they report ok=false on malformed input.

const (
	usPerSecond = int64(1_000_000)
	usPerMinute = 60 * usPerSecond
	usPerHour   = 60 * usPerMinute
	usPerDay    = 24 * usPerHour
)

func trimSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parseInt parses an optionally signed decimal integer.
func parseInt(s string) (int64, bool) {
	v, err := strconv.ParseInt(trimSpace(s), 10, 64)
	return v, err == nil
}

// parseFloat parses a floating point number (no hex, no inf/nan words).
func parseFloat(s string) (float64, bool) {
	s = trimSpace(s)
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isDigit(c) && c != '.' && c != 'e' && c != 'E' && c != '+' && c != '-' {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false
	}
	return f, true
}

// parseDecimal parses s ([-+]digits[.digits][e[-+]digits]) into an
// unscaled value with the given scale, rounding half away from zero.
// overflow reports a syntactically valid number too large for 18 digits.
func parseDecimal(s string, scale int) (v int64, ok, overflow bool) {
	s = trimSpace(s)
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	// Split mantissa and exponent.
	exp := 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > 1000 || e < -1000 {
			return 0, false, false
		}
		exp = e
		s = s[:i]
	}
	intPart, fracPart := s, ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		intPart, fracPart = s[:i], s[i+1:]
	}
	if intPart == "" && fracPart == "" {
		return 0, false, false
	}
	for i := 0; i < len(intPart); i++ {
		if !isDigit(intPart[i]) {
			return 0, false, false
		}
	}
	for i := 0; i < len(fracPart); i++ {
		if !isDigit(fracPart[i]) {
			return 0, false, false
		}
	}
	// Digit at position k of the number, where the unscaled result takes
	// the digits up to (scale - exp) places after the point.
	digits := len(intPart) + len(fracPart)
	digitAt := func(k int) byte {
		if k < len(intPart) {
			return intPart[k]
		}
		return fracPart[k-len(intPart)]
	}
	// Number of digits kept: integer digits + scale + exp.
	keep := len(intPart) + scale + exp
	var acc uint64
	nd := 0
	for k := 0; k < keep; k++ {
		d := byte('0')
		if k >= 0 && k < digits {
			d = digitAt(k)
		}
		if acc == 0 && d == '0' {
			continue
		}
		nd++
		if nd > types.MaxDecimalPrecision {
			return 0, true, true
		}
		acc = acc*10 + uint64(d-'0')
	}
	if keep >= 0 && keep < digits && digitAt(keep) >= '5' {
		acc++
		if acc >= uint64(types.Pow10[types.MaxDecimalPrecision]) {
			return 0, true, true
		}
	}
	v = int64(acc)
	if neg {
		v = -v
	}
	return v, true, false
}

// parseBool accepts true/false, t/f, yes/no, y/n, on/off and 1/0, ignoring case.
func parseBool(s string) (bool, bool) {
	s = trimSpace(s)
	switch strings.ToLower(s) {
	case "true", "t", "yes", "y", "on", "1":
		return true, true
	case "false", "f", "no", "n", "off", "0":
		return false, true
	}
	return false, false
}

// readNum reads up to max digits (at least one) from s at i.
func readNum(s string, i, max int) (v, next int, ok bool) {
	j := i
	for j < len(s) && j-i < max && isDigit(s[j]) {
		v = v*10 + int(s[j]-'0')
		j++
	}
	return v, j, j > i
}

// parseDateParts parses YYYY-MM-DD (1-2 digit month and day allowed) at the
// start of s and returns the rest.
func parseDateParts(s string) (y, m, d int, rest string, ok bool) {
	var i int
	if y, i, ok = readNum(s, 0, 4); !ok || i != 4 || i >= len(s) || s[i] != '-' {
		return 0, 0, 0, "", false
	}
	if m, i, ok = readNum(s, i+1, 2); !ok || i >= len(s) || s[i] != '-' {
		return 0, 0, 0, "", false
	}
	if d, i, ok = readNum(s, i+1, 2); !ok {
		return 0, 0, 0, "", false
	}
	if m < 1 || m > 12 || d < 1 || d > daysIn(y, time.Month(m)) {
		return 0, 0, 0, "", false
	}
	return y, m, d, s[i:], true
}

// parseClock parses H[H]:MM[:SS[.ffffff]] and returns µs since midnight.
// hours may exceed 23 only when allowLong.
func parseClock(s string, allowLong bool) (int64, bool) {
	h, i, ok := readNum(s, 0, 3)
	if !ok || i >= len(s) || s[i] != ':' {
		return 0, false
	}
	m, i, ok := readNum(s, i+1, 2)
	if !ok || m > 59 {
		return 0, false
	}
	sec, frac := 0, int64(0)
	if i < len(s) && s[i] == ':' {
		if sec, i, ok = readNum(s, i+1, 2); !ok || sec > 59 {
			return 0, false
		}
		if i < len(s) && s[i] == '.' {
			i++
			start := i
			scale := int64(100_000)
			for i < len(s) && isDigit(s[i]) {
				if i-start < 6 {
					frac += int64(s[i]-'0') * scale
					scale /= 10
				}
				i++
			}
			if i == start {
				return 0, false
			}
		}
	}
	if i != len(s) || (h > 23 && !allowLong) {
		return 0, false
	}
	return int64(h)*usPerHour + int64(m)*usPerMinute + int64(sec)*usPerSecond + frac, true
}

// parseDate parses a DATE (days since epoch). A time part is allowed and
// ignored, as MySQL does.
func parseDate(s string) (int64, bool) {
	s = trimSpace(s)
	y, m, d, rest, ok := parseDateParts(s)
	if !ok {
		return 0, false
	}
	if rest != "" {
		if _, ok := parseTimestamp(s); !ok {
			return 0, false
		}
	}
	return civilDays(y, m, d), true
}

// parseTime parses a TIME value (µs since midnight).
func parseTime(s string) (int64, bool) {
	return parseClock(trimSpace(s), false)
}

// parseTimestamp parses 'YYYY-MM-DD[( |T)HH:MM[:SS[.f]]][Z]' (µs since epoch).
func parseTimestamp(s string) (int64, bool) {
	s = trimSpace(s)
	y, m, d, rest, ok := parseDateParts(s)
	if !ok {
		return 0, false
	}
	us := civilDays(y, m, d) * usPerDay
	if rest == "" {
		return us, true
	}
	if rest[0] != ' ' && rest[0] != 'T' {
		return 0, false
	}
	rest = strings.TrimLeft(rest[1:], " ")
	rest = strings.TrimSuffix(rest, "Z")
	clock, ok := parseClock(rest, false)
	if !ok {
		return 0, false
	}
	return us + clock, true
}

// timestampHasTime reports whether a timestamp literal carries a time part.
func timestampHasTime(s string) bool {
	_, _, _, rest, ok := parseDateParts(trimSpace(s))
	return ok && rest != ""
}

// fractionDigits counts the fractional-second digits of a timestamp or
// time literal (0..6).
func fractionDigits(s string) int {
	i := strings.LastIndexByte(s, '.')
	if i < 0 || strings.LastIndexByte(s, ':') > i {
		return 0
	}
	n := 0
	for j := i + 1; j < len(s) && isDigit(s[j]); j++ {
		n++
	}
	return min(n, 6)
}

// civilDays returns days since 1970-01-01 for a proleptic Gregorian date
// (Howard Hinnant's days_from_civil).
func civilDays(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// civilFromDays is the inverse of civilDays.
func civilFromDays(z int64) (y, m, d int) {
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era = (z - 146096) / 146097
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	yy := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		m = int(mp + 3)
	} else {
		m = int(mp - 9)
	}
	if m <= 2 {
		yy++
	}
	return int(yy), m, d
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y int, m time.Month) int {
	switch m {
	case time.February:
		if isLeap(y) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// floorDiv divides rounding toward negative infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// floorMod is a - floorDiv(a, b)*b.
func floorMod(a, b int64) int64 {
	m := a % b
	if m != 0 && ((m < 0) != (b < 0)) {
		m += b
	}
	return m
}

// roundHalfAway rounds f to the nearest integer, halves away from zero.
func roundHalfAway(f float64) float64 { return math.Round(f) }
