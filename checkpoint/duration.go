package checkpoint

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// durationHint is appended to every duration parse error.
const durationHint = "(expected e.g. '10 s', '500 ms', '1 min')"

// durationUnits maps Flink's duration unit spellings (lower case) to their
// length.
var durationUnits = map[string]time.Duration{
	"ns": time.Nanosecond, "nano": time.Nanosecond, "nanos": time.Nanosecond,
	"nanosecond": time.Nanosecond, "nanoseconds": time.Nanosecond,
	"µs": time.Microsecond, "us": time.Microsecond, "micro": time.Microsecond,
	"micros": time.Microsecond, "microsecond": time.Microsecond, "microseconds": time.Microsecond,
	"ms": time.Millisecond, "milli": time.Millisecond, "millis": time.Millisecond,
	"millisecond": time.Millisecond, "milliseconds": time.Millisecond,
	"s": time.Second, "sec": time.Second, "secs": time.Second,
	"second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
}

// ParseDuration parses a duration in Flink's syntax: a non-negative whole
// number, optional blanks, and an optional case-insensitive unit; a number
// without a unit is milliseconds. Units: ns/nano(s)/nanosecond(s),
// us/µs/micro(s)/microsecond(s), ms/milli(s)/millisecond(s),
// s/sec(s)/second(s), m/min/minute(s), h/hour(s), d/day(s).
// Examples: "10 s", "10s", "500 ms", "1 min", "2 h", "1 d", "250".
// Fractions ("1.5 s") and negative values are errors.
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		if strings.HasPrefix(t, "-") {
			return 0, fmt.Errorf("negative duration '%s' (expected a duration >= 0, e.g. '10 s', '500 ms', '1 min')", s)
		}
		return 0, fmt.Errorf("invalid duration '%s' %s", s, durationHint)
	}
	if i < len(t) && (t[i] == '.' || t[i] == ',') {
		return 0, fmt.Errorf("invalid duration '%s': fractions are not supported (expected a whole number with a unit, e.g. '1500 ms')", s)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("duration '%s' is too large", s)
	}
	unit := time.Millisecond
	if u := strings.ToLower(strings.TrimSpace(t[i:])); u != "" {
		var ok bool
		if unit, ok = durationUnits[u]; !ok {
			return 0, fmt.Errorf("invalid duration '%s': unknown unit '%s' (expected ms, s, min, h or d, e.g. '10 s', '500 ms', '1 min')", s, strings.TrimSpace(t[i:]))
		}
	}
	if n > math.MaxInt64/int64(unit) {
		return 0, fmt.Errorf("duration '%s' is too large", s)
	}
	return time.Duration(n) * unit, nil
}

// FormatDuration renders d in the syntax ParseDuration reads, with the
// largest unit that represents it exactly: "10 s", "500 ms", "1 min",
// "2 h", "1 d", "0 ms".
func FormatDuration(d time.Duration) string {
	units := []struct {
		name string
		len  time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"min", time.Minute}, {"s", time.Second},
		{"ms", time.Millisecond}, {"us", time.Microsecond}, {"ns", time.Nanosecond}}
	if d == 0 {
		return "0 ms"
	}
	for _, u := range units {
		if d%u.len == 0 {
			return fmt.Sprintf("%d %s", d/u.len, u.name)
		}
	}
	return d.String() // unreachable: every duration is a whole number of ns
}
