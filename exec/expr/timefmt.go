package expr

import (
	"strconv"
	"strings"
	"time"
)

// Calendar fields and date formats (MySQL % specifiers and Java
// DateTimeFormatter-style patterns). All values are UTC.

// civil holds the broken-down fields of a TIMESTAMP value.
type civil struct {
	year, month, day int
	hour, min, sec   int
	micro            int
	days             int64 // days since epoch
	weekday          int   // 0 = Sunday
	yday             int   // 1..366
}

func civilOf(us int64) civil {
	days := floorDiv(us, usPerDay)
	rem := us - days*usPerDay
	y, m, d := civilFromDays(days)
	c := civil{year: y, month: m, day: d, days: days}
	c.hour = int(rem / usPerHour)
	c.min = int(rem / usPerMinute % 60)
	c.sec = int(rem / usPerSecond % 60)
	c.micro = int(rem % usPerSecond)
	c.weekday = int(floorMod(days+4, 7)) // 1970-01-01 was a Thursday
	c.yday = int(days-civilDays(y, 1, 1)) + 1
	return c
}

// mysqlDaynr is MySQL's day number (days since year 0) of an epoch day.
func mysqlDaynr(days int64) int64 { return days + 719528 }

const (
	weekMondayFirst  = 1
	weekYear         = 2
	weekFirstWeekday = 4
)

func daysInYear(y int) int64 {
	if isLeap(y) {
		return 366
	}
	return 365
}

// calcWeek is MySQL's calc_week: the week number of c and its year under
// the given behaviour flags.
func calcWeek(c civil, behaviour int) (week, year int) {
	daynr := mysqlDaynr(c.days)
	firstDaynr := mysqlDaynr(civilDays(c.year, 1, 1))
	mondayFirst := behaviour&weekMondayFirst != 0
	wy := behaviour&weekYear != 0
	firstWeekday := behaviour&weekFirstWeekday != 0
	calcWeekday := func(d int64, sundayFirst bool) int64 {
		k := int64(5)
		if sundayFirst {
			k = 6
		}
		return (d + k) % 7
	}
	weekday := calcWeekday(firstDaynr, !mondayFirst)
	year = c.year
	if c.month == 1 && int64(c.day) <= 7-weekday {
		if !wy && ((firstWeekday && weekday != 0) || (!firstWeekday && weekday >= 4)) {
			return 0, year
		}
		wy = true
		year--
		days := daysInYear(year)
		firstDaynr -= days
		weekday = (weekday + 53*7 - days) % 7
	}
	var days int64
	if (firstWeekday && weekday != 0) || (!firstWeekday && weekday >= 4) {
		days = daynr - (firstDaynr + (7 - weekday))
	} else {
		days = daynr - (firstDaynr - weekday)
	}
	if wy && days >= 52*7 {
		weekday = (weekday + daysInYear(year)) % 7
		if (!firstWeekday && weekday < 4) || (firstWeekday && weekday == 0) {
			return 1, year + 1
		}
	}
	return int(days/7 + 1), year
}

// weekMode converts WEEK()'s mode argument to calc_week behaviour flags.
func weekMode(mode int64) int {
	f := int(mode & 7)
	if f&weekMondayFirst == 0 {
		f ^= weekFirstWeekday
	}
	return f
}

var monthNames = [...]string{"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December"}

var dayNames = [...]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}

type fmtKind uint8

const (
	fLit          fmtKind = iota
	fYear4                // %Y yyyy
	fYear2                // %y yy
	fMonth2               // %m MM
	fMonth1               // %c M
	fMonthName            // %M MMMM
	fMonthAbbr            // %b MMM
	fDay2                 // %d dd
	fDay1                 // %e d
	fDaySuffix            // %D
	fYday                 // %j DDD
	fHour2                // %H HH
	fHour1                // %k H
	fHour12_2             // %h %I hh
	fHour12_1             // %l h
	fMin2                 // %i mm
	fMin1                 // m
	fSec2                 // %s %S ss
	fSec1                 // s
	fMicro                // %f (6 digits)
	fFrac                 // S...: width fraction digits
	fAMPM                 // %p a
	fDayName              // %W EEEE
	fDayAbbr              // %a EEE
	fWeekday              // %w (0 = Sunday)
	fDayOfWeekISO         // u (1 = Monday)
	fTime12               // %r
	fTime24               // %T
	fWeekU                // %U
	fWeeku                // %u
	fWeekV                // %V
	fWeekv                // %v
	fYearX                // %X
	fYearx                // %x
	fZone                 // X, Z: always UTC
)

type fmtItem struct {
	kind  fmtKind
	lit   string
	width int
}

// timeFormat is a compiled date format. Immutable.
type timeFormat struct {
	items []fmtItem
}

// compileFormat compiles a MySQL format ('%Y-%m-%d') when f contains '%',
// otherwise a Java pattern ('yyyy-MM-dd HH:mm:ss.SSS', with literal text
// in single quotes and a doubled quote for a quote).
func compileFormat(f string) *timeFormat {
	if strings.IndexByte(f, '%') >= 0 {
		return compileMySQLFormat(f)
	}
	return compileJavaFormat(f)
}

func (tf *timeFormat) lit(s string) {
	if n := len(tf.items); n > 0 && tf.items[n-1].kind == fLit {
		tf.items[n-1].lit += s
		return
	}
	tf.items = append(tf.items, fmtItem{kind: fLit, lit: s})
}

var mysqlSpecs = map[byte]fmtKind{
	'Y': fYear4, 'y': fYear2, 'm': fMonth2, 'c': fMonth1, 'M': fMonthName, 'b': fMonthAbbr,
	'd': fDay2, 'e': fDay1, 'D': fDaySuffix, 'j': fYday, 'H': fHour2, 'k': fHour1,
	'h': fHour12_2, 'I': fHour12_2, 'l': fHour12_1, 'i': fMin2, 's': fSec2, 'S': fSec2,
	'f': fMicro, 'p': fAMPM, 'W': fDayName, 'a': fDayAbbr, 'w': fWeekday, 'r': fTime12,
	'T': fTime24, 'U': fWeekU, 'u': fWeeku, 'V': fWeekV, 'v': fWeekv, 'X': fYearX, 'x': fYearx,
}

func compileMySQLFormat(f string) *timeFormat {
	tf := &timeFormat{}
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' || i+1 == len(f) {
			tf.lit(string(c))
			continue
		}
		i++
		if k, ok := mysqlSpecs[f[i]]; ok {
			tf.items = append(tf.items, fmtItem{kind: k, width: 6})
		} else {
			tf.lit(string(f[i])) // %% and unknown specifiers print the character
		}
	}
	return tf
}

func compileJavaFormat(f string) *timeFormat {
	tf := &timeFormat{}
	for i := 0; i < len(f); {
		c := f[i]
		if c == '\'' {
			j := i + 1
			var sb strings.Builder
			for j < len(f) {
				if f[j] == '\'' {
					if j+1 < len(f) && f[j+1] == '\'' {
						sb.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				sb.WriteByte(f[j])
				j++
			}
			if j == i+1 && j < len(f) { // a doubled quote is a quote
				sb.WriteByte('\'')
			}
			tf.lit(sb.String())
			i = j + 1
			continue
		}
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			tf.lit(string(c))
			i++
			continue
		}
		j := i
		for j < len(f) && f[j] == c {
			j++
		}
		n := j - i
		i = j
		var k fmtKind
		switch c {
		case 'y':
			k = fYear4
			if n == 2 {
				k = fYear2
			}
		case 'M', 'L':
			switch {
			case n >= 4:
				k = fMonthName
			case n == 3:
				k = fMonthAbbr
			case n == 2:
				k = fMonth2
			default:
				k = fMonth1
			}
		case 'd':
			k = fDay2
			if n == 1 {
				k = fDay1
			}
		case 'D':
			k = fYday
		case 'H', 'k':
			k = fHour2
			if n == 1 {
				k = fHour1
			}
		case 'h', 'K':
			k = fHour12_2
			if n == 1 {
				k = fHour12_1
			}
		case 'm':
			k = fMin2
			if n == 1 {
				k = fMin1
			}
		case 's':
			k = fSec2
			if n == 1 {
				k = fSec1
			}
		case 'S':
			tf.items = append(tf.items, fmtItem{kind: fFrac, width: min(n, 9)})
			continue
		case 'a':
			k = fAMPM
		case 'E':
			k = fDayAbbr
			if n >= 4 {
				k = fDayName
			}
		case 'u':
			k = fDayOfWeekISO
		case 'X', 'Z', 'x':
			k = fZone
		default:
			tf.lit(strings.Repeat(string(c), n))
			continue
		}
		tf.items = append(tf.items, fmtItem{kind: k, width: n})
	}
	return tf
}

func appendPad(b []byte, v, width int) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	s := strconv.Itoa(v)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

func hour12(h int) int {
	h %= 12
	if h == 0 {
		return 12
	}
	return h
}

func daySuffix(d int) string {
	if d%100 >= 11 && d%100 <= 13 {
		return "th"
	}
	switch d % 10 {
	case 1:
		return "st"
	case 2:
		return "nd"
	case 3:
		return "rd"
	}
	return "th"
}

// format appends the formatted value of us (µs since epoch) to b.
func (tf *timeFormat) format(b []byte, us int64) []byte {
	c := civilOf(us)
	for _, it := range tf.items {
		switch it.kind {
		case fLit:
			b = append(b, it.lit...)
		case fYear4:
			b = appendPad(b, c.year, 4)
		case fYear2:
			b = appendPad(b, c.year%100, 2)
		case fMonth2:
			b = appendPad(b, c.month, 2)
		case fMonth1:
			b = strconv.AppendInt(b, int64(c.month), 10)
		case fMonthName:
			b = append(b, monthNames[c.month-1]...)
		case fMonthAbbr:
			b = append(b, monthNames[c.month-1][:3]...)
		case fDay2:
			b = appendPad(b, c.day, 2)
		case fDay1:
			b = strconv.AppendInt(b, int64(c.day), 10)
		case fDaySuffix:
			b = strconv.AppendInt(b, int64(c.day), 10)
			b = append(b, daySuffix(c.day)...)
		case fYday:
			b = appendPad(b, c.yday, 3)
		case fHour2:
			b = appendPad(b, c.hour, 2)
		case fHour1:
			b = strconv.AppendInt(b, int64(c.hour), 10)
		case fHour12_2:
			b = appendPad(b, hour12(c.hour), 2)
		case fHour12_1:
			b = strconv.AppendInt(b, int64(hour12(c.hour)), 10)
		case fMin2:
			b = appendPad(b, c.min, 2)
		case fMin1:
			b = strconv.AppendInt(b, int64(c.min), 10)
		case fSec2:
			b = appendPad(b, c.sec, 2)
		case fSec1:
			b = strconv.AppendInt(b, int64(c.sec), 10)
		case fMicro:
			b = appendPad(b, c.micro, 6)
		case fFrac:
			digits := appendPad(nil, c.micro, 6)
			for len(digits) < it.width {
				digits = append(digits, '0')
			}
			b = append(b, digits[:it.width]...)
		case fAMPM:
			if c.hour < 12 {
				b = append(b, "AM"...)
			} else {
				b = append(b, "PM"...)
			}
		case fDayName:
			b = append(b, dayNames[c.weekday]...)
		case fDayAbbr:
			b = append(b, dayNames[c.weekday][:3]...)
		case fWeekday:
			b = strconv.AppendInt(b, int64(c.weekday), 10)
		case fDayOfWeekISO:
			b = strconv.AppendInt(b, int64((c.weekday+6)%7+1), 10)
		case fTime12:
			b = appendPad(b, hour12(c.hour), 2)
			b = append(b, ':')
			b = appendPad(b, c.min, 2)
			b = append(b, ':')
			b = appendPad(b, c.sec, 2)
			if c.hour < 12 {
				b = append(b, " AM"...)
			} else {
				b = append(b, " PM"...)
			}
		case fTime24:
			b = appendPad(b, c.hour, 2)
			b = append(b, ':')
			b = appendPad(b, c.min, 2)
			b = append(b, ':')
			b = appendPad(b, c.sec, 2)
		case fWeekU, fWeeku, fWeekV, fWeekv:
			beh := weekFirstWeekday
			switch it.kind {
			case fWeeku:
				beh = weekMondayFirst
			case fWeekV:
				beh = weekYear | weekFirstWeekday
			case fWeekv:
				beh = weekYear | weekMondayFirst
			}
			w, _ := calcWeek(c, beh)
			b = appendPad(b, w, 2)
		case fYearX, fYearx:
			beh := weekYear | weekFirstWeekday
			if it.kind == fYearx {
				beh = weekYear | weekMondayFirst
			}
			_, y := calcWeek(c, beh)
			b = appendPad(b, y, 4)
		case fZone:
			b = append(b, 'Z')
		}
	}
	return b
}

// parse reads s according to the format and returns µs since epoch.
// Missing date fields default to 1970-01-01, missing time fields to 0.
func (tf *timeFormat) parse(s string) (int64, bool) {
	year, month, day := 1970, 1, 1
	hour, minute, sec, micro := 0, 0, 0, 0
	pm, has12 := false, false
	yday := -1
	i := 0
	num := func(maxDigits int) (int, bool) {
		v, j, ok := readNum(s, i, maxDigits)
		if ok {
			i = j
		}
		return v, ok
	}
	name := func(names []string, abbr bool) (int, bool) {
		for k, nm := range names {
			if abbr {
				nm = nm[:3]
			}
			if len(s)-i >= len(nm) && strings.EqualFold(s[i:i+len(nm)], nm) {
				i += len(nm)
				return k, true
			}
		}
		return 0, false
	}
	for _, it := range tf.items {
		var ok bool
		switch it.kind {
		case fLit:
			lit := it.lit
			for len(lit) > 0 {
				if i < len(s) && s[i] == lit[0] {
					i++
					lit = lit[1:]
					continue
				}
				if lit[0] == ' ' { // lenient about missing spaces
					lit = lit[1:]
					continue
				}
				return 0, false
			}
			ok = true
		case fYear4:
			year, ok = num(4)
		case fYear2:
			var y int
			if y, ok = num(2); ok {
				year = 2000 + y
				if y >= 70 {
					year = 1900 + y
				}
			}
		case fMonth2, fMonth1:
			month, ok = num(2)
		case fMonthName:
			month, ok = name(monthNames[:], false)
			month++
		case fMonthAbbr:
			month, ok = name(monthNames[:], true)
			month++
		case fDay2, fDay1:
			day, ok = num(2)
		case fDaySuffix:
			if day, ok = num(2); ok && i+2 <= len(s) {
				i += 2
			}
		case fYday:
			yday, ok = num(3)
		case fHour2, fHour1:
			hour, ok = num(2)
		case fHour12_2, fHour12_1:
			hour, ok = num(2)
			has12 = true
		case fMin2, fMin1:
			minute, ok = num(2)
		case fSec2, fSec1:
			sec, ok = num(2)
		case fMicro, fFrac:
			start := i
			var v int
			width := it.width
			if it.kind == fMicro {
				width = 6
			}
			if v, ok = num(width); ok {
				for d := i - start; d < 6; d++ {
					v *= 10
				}
				for d := i - start; d > 6; d-- {
					v /= 10
				}
				micro = v
			}
		case fAMPM:
			if i+2 <= len(s) {
				switch strings.ToUpper(s[i : i+2]) {
				case "AM":
					ok = true
				case "PM":
					ok, pm = true, true
				}
				i += 2
			}
		case fDayName:
			_, ok = name(dayNames[:], false)
		case fDayAbbr:
			_, ok = name(dayNames[:], true)
		case fWeekday, fDayOfWeekISO:
			_, ok = num(1)
		case fTime24, fTime12:
			if hour, ok = num(2); ok && i < len(s) && s[i] == ':' {
				i++
				if minute, ok = num(2); ok && i < len(s) && s[i] == ':' {
					i++
					sec, ok = num(2)
				}
			}
			if it.kind == fTime12 {
				has12 = true
				rest := strings.TrimLeft(s[i:], " ")
				if len(rest) >= 2 {
					pm = strings.EqualFold(rest[:2], "PM")
					i = len(s) - len(rest) + 2
				}
			}
		case fZone:
			if i < len(s) && (s[i] == 'Z' || s[i] == 'z') {
				i++
			}
			ok = true
		default:
			_, ok = num(2)
		}
		if !ok {
			return 0, false
		}
	}
	if strings.TrimSpace(s[i:]) != "" {
		return 0, false
	}
	if has12 {
		if hour < 1 || hour > 12 {
			return 0, false
		}
		hour %= 12
		if pm {
			hour += 12
		}
	}
	if month < 1 || month > 12 || hour > 23 || minute > 59 || sec > 59 {
		return 0, false
	}
	var days int64
	if yday >= 0 {
		if yday < 1 || int64(yday) > daysInYear(year) {
			return 0, false
		}
		days = civilDays(year, 1, 1) + int64(yday-1)
	} else {
		if day < 1 || day > daysIn(year, time.Month(month)) {
			return 0, false
		}
		days = civilDays(year, month, day)
	}
	return days*usPerDay + int64(hour)*usPerHour + int64(minute)*usPerMinute +
		int64(sec)*usPerSecond + int64(micro), true
}
