package filesystem

import (
	"errors"
	"strconv"
)

// Hand-written conversions between text and Sluice's temporal values (days
// since 1970-01-01; µs since midnight; µs since 1970-01-01 00:00:00 UTC), in
// the proleptic Gregorian calendar. time.Parse and time.Format are several
// times slower and allocate.

var errTemporal = errors.New("invalid temporal value")

// daysFromCivil returns the day number of y-m-d (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := (m + 9) % 12 // March = 0
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// civilFromDays is the inverse of daysFromCivil.
func civilFromDays(z int64) (y, m, d int64) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func daysInMonth(y, m int64) int64 {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// digits reads between lo and hi ASCII digits at the start of b.
func digits(b []byte, lo, hi int) (v int64, n int) {
	for n < len(b) && n < hi && b[n] >= '0' && b[n] <= '9' {
		v = v*10 + int64(b[n]-'0')
		n++
	}
	if n < lo {
		return 0, -1
	}
	return v, n
}

// parseDatePrefix parses YYYY-M[M]-D[D] at the start of b and returns the
// day number and the rest of b.
func parseDatePrefix(b []byte) (int64, []byte, error) {
	var f [3]int64
	for i, width := range [3][2]int{{4, 4}, {1, 2}, {1, 2}} {
		if i > 0 {
			if len(b) == 0 || b[0] != '-' {
				return 0, nil, errTemporal
			}
			b = b[1:]
		}
		v, n := digits(b, width[0], width[1])
		if n < 0 {
			return 0, nil, errTemporal
		}
		f[i], b = v, b[n:]
	}
	y, m, d := f[0], f[1], f[2]
	if m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m) {
		return 0, nil, errTemporal
	}
	return daysFromCivil(y, m, d), b, nil
}

// parseClockPrefix parses H[H]:MM:SS[.fraction] (up to 9 fractional digits,
// truncated to µs) at the start of b and returns µs since midnight and the
// rest of b.
func parseClockPrefix(b []byte) (int64, []byte, error) {
	var f [3]int64
	for i := range f {
		if i > 0 {
			if len(b) == 0 || b[0] != ':' {
				return 0, nil, errTemporal
			}
			b = b[1:]
		}
		lo := 2
		if i == 0 {
			lo = 1
		}
		v, n := digits(b, lo, 2)
		if n < 0 {
			return 0, nil, errTemporal
		}
		f[i], b = v, b[n:]
	}
	if f[0] > 23 || f[1] > 59 || f[2] > 59 {
		return 0, nil, errTemporal
	}
	us := ((f[0]*60+f[1])*60 + f[2]) * 1_000_000
	if len(b) > 0 && b[0] == '.' {
		b = b[1:]
		frac, n := digits(b, 1, 9)
		if n < 0 {
			return 0, nil, errTemporal
		}
		b = b[n:]
		for ; n < 6; n++ {
			frac *= 10
		}
		for ; n > 6; n-- {
			frac /= 10
		}
		us += frac
	}
	return us, b, nil
}

// parseDate parses YYYY-MM-DD.
func parseDate(b []byte) (int64, error) {
	days, rest, err := parseDatePrefix(b)
	if err != nil || len(rest) != 0 {
		return 0, errTemporal
	}
	return days, nil
}

// parseTime parses HH:MM:SS[.fraction].
func parseTime(b []byte) (int64, error) {
	us, rest, err := parseClockPrefix(b)
	if err != nil || len(rest) != 0 {
		return 0, errTemporal
	}
	return us, nil
}

// parseTimestamp parses 'YYYY-MM-DD HH:MM:SS[.fraction]' (SQL) and
// 'YYYY-MM-DDTHH:MM:SS[.fraction]' (ISO-8601), either with an optional
// trailing 'Z' (Flink writes one for TIMESTAMP_LTZ).
func parseTimestamp(b []byte) (int64, error) {
	days, rest, err := parseDatePrefix(b)
	if err != nil || len(rest) == 0 || (rest[0] != ' ' && rest[0] != 'T') {
		return 0, errTemporal
	}
	us, rest, err := parseClockPrefix(rest[1:])
	if err != nil {
		return 0, err
	}
	if len(rest) == 1 && rest[0] == 'Z' {
		rest = rest[1:]
	}
	if len(rest) != 0 {
		return 0, errTemporal
	}
	return days*86_400_000_000 + us, nil
}

// truncateMicros floors us to a multiple of 10^(6-prec) (TIMESTAMP(prec)).
func truncateMicros(us int64, prec int) int64 {
	if prec >= 6 || prec < 0 {
		return us
	}
	unit := pow10[6-prec]
	r := us % unit
	if r < 0 {
		r += unit
	}
	return us - r
}

var pow10 = [...]int64{1, 10, 100, 1000, 10000, 100000, 1000000}

func append2(dst []byte, v int64) []byte {
	return append(dst, byte('0'+v/10), byte('0'+v%10))
}

// appendDate appends YYYY-MM-DD.
func appendDate(dst []byte, days int64) []byte {
	y, m, d := civilFromDays(days)
	if y >= 0 && y <= 9999 {
		dst = append2(dst, y/100)
		dst = append2(dst, y%100)
	} else {
		dst = strconv.AppendInt(dst, y, 10)
	}
	dst = append(dst, '-')
	dst = append2(dst, m)
	dst = append(dst, '-')
	return append2(dst, d)
}

// appendClock appends HH:MM:SS and prec fractional digits of us (0 <= us < 1 day).
func appendClock(dst []byte, us int64, prec int) []byte {
	sec := us / 1_000_000
	dst = append2(dst, sec/3600)
	dst = append(dst, ':')
	dst = append2(dst, sec/60%60)
	dst = append(dst, ':')
	dst = append2(dst, sec%60)
	if prec > 0 {
		prec = min(prec, 6)
		frac := us%1_000_000 + 1_000_000 // leading 1 keeps the zeros
		var tmp [7]byte
		s := strconv.AppendInt(tmp[:0], frac, 10)
		dst = append(dst, '.')
		dst = append(dst, s[1:1+prec]...)
	}
	return dst
}

// appendTimestamp appends a TIMESTAMP as 'YYYY-MM-DD<sep>HH:MM:SS[.f]'.
func appendTimestamp(dst []byte, us int64, prec int, sep byte) []byte {
	days := floorDiv(us, 86_400_000_000)
	dst = appendDate(dst, days)
	dst = append(dst, sep)
	return appendClock(dst, us-days*86_400_000_000, prec)
}
