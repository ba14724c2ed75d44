package expr

import (
	"math"
	"strings"
	"time"

	"github.com/sluicesql/sluice/exec/types"
)

// nowFunc is the clock of NOW() and friends (tests replace it).
var nowFunc = time.Now

func init() {
	register("NOW CURRENT_TIMESTAMP LOCALTIMESTAMP LOCALTIME SYSDATE UTC_TIMESTAMP", 0, 1, buildNow)
	register("CURRENT_DATE CURDATE UTC_DATE", 0, 0, buildNow)
	register("CURRENT_TIME CURTIME UTC_TIME", 0, 1, buildNow)
	register("PROCTIME", 0, 0, buildNow)
	register("EXTRACT", 2, 2, buildExtract)
	for _, f := range []string{"YEAR", "QUARTER", "MONTH", "DAY", "DAYOFMONTH", "HOUR", "MINUTE",
		"SECOND", "MICROSECOND", "DAYOFWEEK", "DAYOFYEAR", "WEEKDAY", "WEEKOFYEAR"} {
		register(f, 1, 1, buildField)
	}
	register("WEEK", 1, 2, buildField)
	register("DAYNAME MONTHNAME", 1, 1, buildNames)
	register("LAST_DAY", 1, 1, buildLastDay)
	register("DATE_ADD ADDDATE DATE_SUB SUBDATE", 3, 3, buildDateAdd)
	register("TIMESTAMPADD", 3, 3, func(name string, a []Expr) (Expr, error) {
		return buildDateAdd(name, []Expr{a[2], a[1], a[0]})
	})
	register("TIMESTAMPDIFF", 3, 3, buildTimestampDiff)
	register("DATEDIFF", 2, 2, buildDateDiff)
	register("UNIX_TIMESTAMP", 0, 2, buildUnixTimestamp)
	register("FROM_UNIXTIME", 1, 2, buildFromUnixtime)
	register("DATE_FORMAT", 2, 2, buildDateFormat)
	register("TO_TIMESTAMP", 1, 2, buildToTimestamp)
	register("TO_DATE", 1, 2, buildToTimestamp)
	register("TO_TIMESTAMP_LTZ", 1, 2, buildToTimestampLTZ)
	register("DATE", 1, 1, buildDate)
}

// minTimestamp and maxTimestamp bound TIMESTAMP values (years 0..9999).
var (
	minTimestamp = civilDays(0, 1, 1) * usPerDay
	maxTimestamp = civilDays(10000, 1, 1)*usPerDay - 1
)

func buildNow(name string, args []Expr) (Expr, error) {
	prec := 3
	if len(args) == 1 {
		p, ok := asInt(args[0])
		if !ok || !IsConst(p) {
			return nil, typeErr("%s precision must be a constant integer", name)
		}
		d, err := constValue(p)
		if err != nil {
			return nil, err
		}
		if d.Null || d.I < 0 || d.I > 6 {
			return nil, typeErr("%s precision must be between 0 and 6", name)
		}
		prec = int(d.I)
	}
	var t types.Type
	switch name {
	case "CURRENT_DATE", "CURDATE", "UTC_DATE":
		t = types.Date
	case "CURRENT_TIME", "CURTIME", "UTC_TIME":
		t = types.Type{Kind: types.KindTime}
		if len(args) == 1 {
			t.Precision = prec
		}
	case "PROCTIME":
		t = types.Type{Kind: types.KindTimestampLTZ, Precision: 3}
	default:
		t = types.Type{Kind: types.KindTimestamp, Precision: prec}
	}
	f := newFn(name, t, nil, func(f *fnExpr, _ []*types.Vector, out *types.Vector, n int) error {
		us := truncFraction(nowFunc().UnixMicro(), f.t.Precision)
		var v int64
		switch f.t.Kind {
		case types.KindDate:
			v = floorDiv(us, usPerDay)
		case types.KindTime:
			v = floorMod(us, usPerDay)
		default:
			v = us
		}
		for i := range out.I64[:n] {
			out.I64[i] = v
		}
		return nil
	})
	f.isVolat = true
	if len(args) == 1 {
		f.printArg = func(f *fnExpr) string { return f.name + "(" + args[0].String() + ")" }
	}
	return f, nil
}

// timeUnit is a unit of EXTRACT, DATE_ADD, TIMESTAMPADD and TIMESTAMPDIFF.
type timeUnit uint8

const (
	unitInvalid timeUnit = iota
	unitMicrosecond
	unitMillisecond
	unitSecond
	unitMinute
	unitHour
	unitDay
	unitWeek
	unitMonth
	unitQuarter
	unitYear
	unitSecondMicrosecond
	unitMinuteMicrosecond
	unitMinuteSecond
	unitHourMicrosecond
	unitHourSecond
	unitHourMinute
	unitDayMicrosecond
	unitDaySecond
	unitDayMinute
	unitDayHour
	unitYearMonth
	// EXTRACT only:
	unitDayOfWeek
	unitDayOfYear
	unitEpoch
	unitISODayOfWeek
)

var unitNames = map[string]timeUnit{
	"MICROSECOND": unitMicrosecond, "MILLISECOND": unitMillisecond, "SECOND": unitSecond,
	"MINUTE": unitMinute, "HOUR": unitHour, "DAY": unitDay, "WEEK": unitWeek, "MONTH": unitMonth,
	"QUARTER": unitQuarter, "YEAR": unitYear,
	"SECOND_MICROSECOND": unitSecondMicrosecond, "MINUTE_MICROSECOND": unitMinuteMicrosecond,
	"MINUTE_SECOND": unitMinuteSecond, "HOUR_MICROSECOND": unitHourMicrosecond,
	"HOUR_SECOND": unitHourSecond, "HOUR_MINUTE": unitHourMinute, "DAY_MICROSECOND": unitDayMicrosecond,
	"DAY_SECOND": unitDaySecond, "DAY_MINUTE": unitDayMinute, "DAY_HOUR": unitDayHour,
	"YEAR_MONTH": unitYearMonth,
	"DAYOFWEEK":  unitDayOfWeek, "DOW": unitDayOfWeek, "DAYOFYEAR": unitDayOfYear, "DOY": unitDayOfYear,
	"EPOCH": unitEpoch, "ISODOW": unitISODayOfWeek,
}

// unitArg reads a constant unit argument ('DAY', 'YEAR_MONTH', ...;
// SQL_TSI_ prefixes and plural forms are accepted).
func unitArg(e Expr) (timeUnit, string, error) {
	s, ok := constString(e)
	if !ok {
		return unitInvalid, "", typeErr("time unit must be a constant")
	}
	name := strings.TrimPrefix(strings.ToUpper(trimSpace(s)), "SQL_TSI_")
	if u, ok := unitNames[name]; ok {
		return u, name, nil
	}
	if u, ok := unitNames[strings.TrimSuffix(name, "S")]; ok {
		return u, strings.TrimSuffix(name, "S"), nil
	}
	return unitInvalid, "", newErr(ErrType, "unknown time unit '%s'", s)
}

// unitMicros is the length of a fixed unit in µs (0 for months-based units).
func unitMicros(u timeUnit) int64 {
	switch u {
	case unitMicrosecond:
		return 1
	case unitMillisecond:
		return 1000
	case unitSecond:
		return usPerSecond
	case unitMinute:
		return usPerMinute
	case unitHour:
		return usPerHour
	case unitDay:
		return usPerDay
	case unitWeek:
		return 7 * usPerDay
	}
	return 0
}

func unitMonths(u timeUnit) int64 {
	switch u {
	case unitMonth:
		return 1
	case unitQuarter:
		return 3
	case unitYear:
		return 12
	}
	return 0
}

// extractField computes EXTRACT(unit FROM ts) for one value.
func extractField(u timeUnit, us int64, behaviour int) int64 {
	c := civilOf(us)
	switch u {
	case unitYear:
		return int64(c.year)
	case unitQuarter:
		return int64((c.month + 2) / 3)
	case unitMonth:
		return int64(c.month)
	case unitWeek:
		w, _ := calcWeek(c, behaviour)
		return int64(w)
	case unitDay:
		return int64(c.day)
	case unitHour:
		return int64(c.hour)
	case unitMinute:
		return int64(c.min)
	case unitSecond:
		return int64(c.sec)
	case unitMillisecond:
		return int64(c.sec*1000 + c.micro/1000)
	case unitMicrosecond:
		return int64(c.micro)
	case unitDayOfWeek:
		return int64(c.weekday + 1)
	case unitISODayOfWeek:
		return int64((c.weekday+6)%7 + 1)
	case unitDayOfYear:
		return int64(c.yday)
	case unitEpoch:
		return floorDiv(us, usPerSecond)
	case unitYearMonth:
		return int64(c.year*100 + c.month)
	case unitDayHour:
		return int64(c.day*100 + c.hour)
	case unitDayMinute:
		return int64((c.day*100+c.hour)*100 + c.min)
	case unitDaySecond:
		return int64(((c.day*100+c.hour)*100+c.min)*100 + c.sec)
	case unitDayMicrosecond:
		return int64(((c.day*100+c.hour)*100+c.min)*100+c.sec)*1_000_000 + int64(c.micro)
	case unitHourMinute:
		return int64(c.hour*100 + c.min)
	case unitHourSecond:
		return int64((c.hour*100+c.min)*100 + c.sec)
	case unitHourMicrosecond:
		return int64((c.hour*100+c.min)*100+c.sec)*1_000_000 + int64(c.micro)
	case unitMinuteSecond:
		return int64(c.min*100 + c.sec)
	case unitMinuteMicrosecond:
		return int64(c.min*100+c.sec)*1_000_000 + int64(c.micro)
	case unitSecondMicrosecond:
		return int64(c.sec)*1_000_000 + int64(c.micro)
	}
	return 0
}

// isClockUnit reports units that exist for TIME values.
func isClockUnit(u timeUnit) bool {
	switch u {
	case unitHour, unitMinute, unitSecond, unitMillisecond, unitMicrosecond, unitHourMinute,
		unitHourSecond, unitHourMicrosecond, unitMinuteSecond, unitMinuteMicrosecond, unitSecondMicrosecond:
		return true
	}
	return false
}

// temporalMicros converts a temporal argument to µs (TIMESTAMP as is, DATE
// at midnight, TIME since midnight) via a cast at construction.
func temporalMicrosArg(name string, e Expr, allowTime bool, args []Expr) (Expr, bool, error) {
	if allowTime && e.Type().Kind == types.KindTime {
		return e, true, nil
	}
	c, ok, err := asTimestamp(e)
	if err != nil {
		return nil, false, err
	}
	if !ok {
		return nil, false, argTypeErr(name, args)
	}
	return c, false, nil
}

func newExtract(name string, u timeUnit, unitName string, x Expr, args []Expr, out types.Type, behaviour Expr) (*fnExpr, error) {
	c, isTime, err := temporalMicrosArg(name, x, true, args)
	if err != nil {
		return nil, err
	}
	if isTime && !isClockUnit(u) {
		return nil, typeErr("cannot extract %s from TIME", unitName)
	}
	fargs := []Expr{c}
	if behaviour != nil {
		fargs = append(fargs, behaviour)
	}
	f := newFn(name, out, fargs, func(_ *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		for i, us := range in[0].I64[:n] {
			if out.IsNull(i) {
				continue
			}
			beh := weekFirstWeekday // WEEK(x) = mode 0
			if len(in) == 2 {
				beh = weekMode(in[1].I64[i])
			}
			out.I64[i] = extractField(u, us, beh)
		}
		return nil
	})
	return f, nil
}

// buildExtract: EXTRACT(unit, x) with unit a constant string.
func buildExtract(name string, args []Expr) (Expr, error) {
	u, unitName, err := unitArg(args[0])
	if err != nil {
		return nil, err
	}
	f, err := newExtract(name, u, unitName, args[1], args[1:], types.BigInt, nil)
	if err != nil {
		return nil, err
	}
	f.printArg = func(f *fnExpr) string { return "EXTRACT(" + unitName + " FROM " + f.args[0].String() + ")" }
	return f, nil
}

// buildField: YEAR(x), MONTH(x), ..., WEEK(x[, mode]).
func buildField(name string, args []Expr) (Expr, error) {
	unit := map[string]timeUnit{"YEAR": unitYear, "QUARTER": unitQuarter, "MONTH": unitMonth,
		"DAY": unitDay, "DAYOFMONTH": unitDay, "HOUR": unitHour, "MINUTE": unitMinute,
		"SECOND": unitSecond, "MICROSECOND": unitMicrosecond, "DAYOFWEEK": unitDayOfWeek,
		"DAYOFYEAR": unitDayOfYear, "WEEKDAY": unitISODayOfWeek, "WEEK": unitWeek, "WEEKOFYEAR": unitWeek}[name]
	var mode Expr
	switch name {
	case "WEEK":
		if len(args) == 2 {
			m, ok := asInt(args[1])
			if !ok {
				return nil, argTypeErr(name, args)
			}
			mode = m
		}
	case "WEEKOFYEAR":
		mode = Lit(types.IntDatum(3))
	}
	f, err := newExtract(name, unit, name, args[0], args, types.Int, mode)
	if err != nil {
		return nil, err
	}
	if name == "WEEKDAY" { // 0 = Monday
		inner := f.body
		f.body = func(f *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
			if err := inner(f, in, out, n); err != nil {
				return err
			}
			for i := range out.I64[:n] {
				if !out.IsNull(i) {
					out.I64[i]--
				}
			}
			return nil
		}
	}
	if name == "WEEKOFYEAR" {
		f.printArg = func(f *fnExpr) string { return "WEEKOFYEAR(" + f.args[0].String() + ")" }
	}
	return f, nil
}

func buildNames(name string, args []Expr) (Expr, error) {
	c, _, err := temporalMicrosArg(name, args[0], false, args)
	if err != nil {
		return nil, err
	}
	month := name == "MONTHNAME"
	return newFn(name, types.String, []Expr{c}, func(_ *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		for i, us := range in[0].I64[:n] {
			if out.IsNull(i) {
				continue
			}
			cv := civilOf(us)
			if month {
				out.Str[i] = monthNames[cv.month-1]
			} else {
				out.Str[i] = dayNames[cv.weekday]
			}
		}
		return nil
	}), nil
}

func buildLastDay(name string, args []Expr) (Expr, error) {
	c, _, err := temporalMicrosArg(name, args[0], false, args)
	if err != nil {
		return nil, err
	}
	return newFn(name, types.Date, []Expr{c}, func(_ *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		for i, us := range in[0].I64[:n] {
			cv := civilOf(us)
			out.I64[i] = civilDays(cv.year, cv.month, daysIn(cv.year, time.Month(cv.month)))
		}
		return nil
	}), nil
}

// addMonths adds months to a TIMESTAMP, clamping the day to the end of the
// target month (MySQL: 2020-01-31 + 1 MONTH = 2020-02-29).
func addMonths(us, months int64) (int64, bool) {
	if months == 0 {
		return us, true
	}
	if months > 12*20000 || months < -12*20000 {
		return 0, false
	}
	c := civilOf(us)
	tod := us - c.days*usPerDay
	total := int64(c.year)*12 + int64(c.month-1) + months
	y := int(floorDiv(total, 12))
	m := int(floorMod(total, 12)) + 1
	d := min(c.day, daysIn(y, time.Month(m)))
	return civilDays(y, m, d)*usPerDay + tod, true
}

// addInterval adds months and µs, reporting false outside years 0..9999.
func addInterval(us, months, micros int64) (int64, bool) {
	r, ok := addMonths(us, months)
	if !ok {
		return 0, false
	}
	s := r + micros
	if (micros > 0 && s < r) || (micros < 0 && s > r) || s < minTimestamp || s > maxTimestamp {
		return 0, false
	}
	return s, true
}

// compositeFields lists the fields of a composite unit, largest first, as
// µs multipliers (0 marks months-based fields in YEAR_MONTH).
func compositeFields(u timeUnit) []int64 {
	switch u {
	case unitSecondMicrosecond:
		return []int64{usPerSecond, 1}
	case unitMinuteMicrosecond:
		return []int64{usPerMinute, usPerSecond, 1}
	case unitMinuteSecond:
		return []int64{usPerMinute, usPerSecond}
	case unitHourMicrosecond:
		return []int64{usPerHour, usPerMinute, usPerSecond, 1}
	case unitHourSecond:
		return []int64{usPerHour, usPerMinute, usPerSecond}
	case unitHourMinute:
		return []int64{usPerHour, usPerMinute}
	case unitDayMicrosecond:
		return []int64{usPerDay, usPerHour, usPerMinute, usPerSecond, 1}
	case unitDaySecond:
		return []int64{usPerDay, usPerHour, usPerMinute, usPerSecond}
	case unitDayMinute:
		return []int64{usPerDay, usPerHour, usPerMinute}
	case unitDayHour:
		return []int64{usPerDay, usPerHour}
	case unitYearMonth:
		return []int64{-12, -1} // negative: months
	}
	return nil
}

// parseInterval converts an interval value of unit u to (months, µs).
// Simple units take a number (fractional seconds allowed; other fractions
// round half away from zero); composite units take MySQL's 'D H:M:S.f'
// style text, missing leading fields taken as zero.
func parseInterval(u timeUnit, v *types.Vector, i int) (months, micros int64, ok bool) {
	if fields := compositeFields(u); fields != nil {
		s := formatValue(v, i)
		return parseCompositeInterval(fields, s)
	}
	// The value in µs-scaled fixed point (scale 6).
	var scaled int64
	switch {
	case v.Type.Class() == types.ClassF64:
		f := v.F64[i] * 1e6
		if math.IsNaN(f) || math.Abs(f) > 9e18 {
			return 0, 0, false
		}
		scaled = int64(math.Round(f))
	case v.Type.Class() == types.ClassStr:
		var overflow bool
		if scaled, ok, overflow = parseDecimal(v.Str[i], 6); !ok || overflow {
			return 0, 0, false
		}
	default:
		_, s := decimalParams(v.Type)
		if scaled, ok = rescale(v.I64[i], s, 6); !ok {
			return 0, 0, false
		}
	}
	if m := unitMonths(u); m != 0 {
		n := divRound(scaled, usPerSecond)
		r, ok := mulCheck(n, m)
		return r, 0, ok
	}
	switch u {
	case unitSecond:
		return 0, scaled, true
	case unitMicrosecond:
		return 0, divRound(scaled, usPerSecond), true
	}
	n := divRound(scaled, usPerSecond)
	r, ok := mulCheck(n, unitMicros(u))
	return 0, r, ok
}

func parseCompositeInterval(fields []int64, s string) (months, micros int64, ok bool) {
	s = trimSpace(s)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	type group struct {
		v       int64
		digits  int
		fracDot bool
	}
	var groups []group
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		j := i
		var v int64
		for j < len(s) && isDigit(s[j]) {
			if j-i >= 18 {
				return 0, 0, false
			}
			v = v*10 + int64(s[j]-'0')
			j++
		}
		groups = append(groups, group{v: v, digits: j - i, fracDot: i > 0 && s[i-1] == '.'})
		i = j
	}
	if len(groups) == 0 || len(groups) > len(fields) {
		return 0, 0, false
	}
	off := len(fields) - len(groups)
	for k, g := range groups {
		mul := fields[off+k]
		v := g.v
		if mul == 1 && g.fracDot && g.digits < 6 {
			v *= types.Pow10[6-g.digits]
		}
		var ok bool
		if mul < 0 {
			var t int64
			if t, ok = mulCheck(v, -mul); ok {
				months += t
			}
		} else {
			var t int64
			if t, ok = mulCheck(v, mul); ok {
				micros += t
				ok = micros >= 0
			}
		}
		if !ok {
			return 0, 0, false
		}
	}
	if neg {
		months, micros = -months, -micros
	}
	return months, micros, true
}

// isDateUnit reports units that keep a DATE a DATE.
func isDateUnit(u timeUnit) bool {
	switch u {
	case unitDay, unitWeek, unitMonth, unitQuarter, unitYear, unitYearMonth:
		return true
	}
	return false
}

// buildDateAdd: DATE_ADD/ADDDATE/DATE_SUB/SUBDATE(x, n, unit) with unit a
// constant string; also TIMESTAMPADD(unit, n, x). A DATE plus a day-or-
// larger unit stays a DATE, otherwise the result is a TIMESTAMP (of x's
// precision, 6 when the interval has fractional seconds). A result outside
// years 0..9999 or an unparsable interval is NULL.
func buildDateAdd(name string, args []Expr) (Expr, error) {
	u, unitName, err := unitArg(args[2])
	if err != nil {
		return nil, err
	}
	if u >= unitDayOfWeek {
		return nil, newErr(ErrType, "unknown time unit '%s' for %s", unitName, name)
	}
	x := args[0]
	xt := x.Type()
	if xt.Kind != types.KindDate || !isDateUnit(u) {
		var ok bool
		if x, ok, err = asTimestamp(x); err != nil {
			return nil, err
		} else if !ok {
			return nil, argTypeErr(name, args[:2])
		}
	}
	nv := args[1]
	nt := nv.Type()
	switch {
	case isNull(nt):
		nv, _ = implicitCast(nv, types.BigInt)
	case isNumeric(nt) || nt.Kind == types.KindBool || nt.IsString():
	default:
		return nil, argTypeErr(name, args[:2])
	}
	t := x.Type().Nullable()
	if t.Kind != types.KindDate {
		p := t.Precision
		switch {
		case u == unitMicrosecond || u == unitMillisecond || compositeHasMicros(u) || nv.Type().IsFloat():
			p = 6
		case nv.Type().Kind == types.KindDecimal && u == unitSecond:
			p = max(p, min(nv.Type().Scale, 6))
		}
		t.Precision = p
	}
	sub := name == "DATE_SUB" || name == "SUBDATE"
	// A constant interval (a watermark's INTERVAL '4' SECOND) is parsed
	// once per batch rather than once per row.
	constN := IsConst(nv)
	f := newFn(name, t, []Expr{x, nv}, func(_ *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		isDate := in[0].Type.Kind == types.KindDate
		var months, micros int64
		var ok, parsed bool
		for i, v := range in[0].I64[:n] {
			if out.IsNull(i) {
				continue
			}
			if !constN || !parsed {
				months, micros, ok = parseInterval(u, in[1], i)
				if ok && sub {
					months, micros = -months, -micros
				}
				parsed = true
			}
			us := v
			if isDate {
				us = v * usPerDay
			}
			valid := ok
			if valid {
				us, valid = addInterval(us, months, micros)
			}
			if !valid {
				setNullAt(out, i)
				continue
			}
			if isDate {
				out.I64[i] = floorDiv(us, usPerDay)
			} else {
				out.I64[i] = us
			}
		}
		return nil
	})
	op := "+"
	if sub {
		op = "-"
	}
	f.printArg = func(f *fnExpr) string {
		return paren(f.args[0]) + " " + op + " INTERVAL " + paren(f.args[1]) + " " + unitName
	}
	return f, nil
}

func compositeHasMicros(u timeUnit) bool {
	switch u {
	case unitSecondMicrosecond, unitMinuteMicrosecond, unitHourMicrosecond, unitDayMicrosecond:
		return true
	}
	return false
}

// buildTimestampDiff: TIMESTAMPDIFF(unit, a, b) = b - a in whole units
// (months-based units count complete months, as MySQL).
func buildTimestampDiff(name string, args []Expr) (Expr, error) {
	u, unitName, err := unitArg(args[0])
	if err != nil {
		return nil, err
	}
	if unitMicros(u) == 0 && unitMonths(u) == 0 {
		return nil, newErr(ErrType, "unknown time unit '%s' for %s", unitName, name)
	}
	a, ok1, err := asTimestamp(args[1])
	if err != nil {
		return nil, err
	}
	b, ok2, err := asTimestamp(args[2])
	if err != nil {
		return nil, err
	}
	if !ok1 || !ok2 {
		return nil, argTypeErr(name, args[1:])
	}
	f := newFn(name, types.BigInt, []Expr{a, b}, func(_ *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		for i, x := range in[0].I64[:n] {
			y := in[1].I64[i]
			if m := unitMonths(u); m != 0 {
				out.I64[i] = monthsBetween(x, y) / m
				continue
			}
			out.I64[i] = (y - x) / unitMicros(u)
		}
		return nil
	})
	f.printArg = func(f *fnExpr) string {
		return "TIMESTAMPDIFF(" + unitName + ", " + f.args[0].String() + ", " + f.args[1].String() + ")"
	}
	return f, nil
}

// monthsBetween counts complete months from a to b (negative when b < a).
func monthsBetween(a, b int64) int64 {
	ca, cb := civilOf(a), civilOf(b)
	months := int64(cb.year-ca.year)*12 + int64(cb.month-ca.month)
	ra := int64(ca.day)*usPerDay + (a - ca.days*usPerDay)
	rb := int64(cb.day)*usPerDay + (b - cb.days*usPerDay)
	if months > 0 && rb < ra {
		months--
	} else if months < 0 && rb > ra {
		months++
	}
	return months
}

// asDays converts an argument to a DATE (TIMESTAMP truncated, string parsed).
func asDays(e Expr) (Expr, bool, error) {
	c, ok, err := asTemporal(e)
	if err != nil || !ok {
		return nil, ok, err
	}
	if c.Type().Kind != types.KindDate {
		c, err = implicitCast(c, types.Date)
		return c, err == nil, nil
	}
	return c, true, nil
}

func buildDateDiff(name string, args []Expr) (Expr, error) {
	a, ok1, err := asDays(args[0])
	if err != nil {
		return nil, err
	}
	b, ok2, err := asDays(args[1])
	if err != nil {
		return nil, err
	}
	if !ok1 || !ok2 {
		return nil, argTypeErr(name, args)
	}
	return newFn(name, types.Int, []Expr{a, b}, func(_ *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		for i, x := range in[0].I64[:n] {
			out.I64[i] = x - in[1].I64[i]
		}
		return nil
	}), nil
}

// formatFor returns the compiled format of row i: the constant one kept in
// aux, or one compiled from the row's text with a one-entry cache.
func (f *fnExpr) formatFor(v *types.Vector, i int) *timeFormat {
	if tf, ok := f.aux.(*timeFormat); ok {
		return tf
	}
	type cache struct {
		src string
		tf  *timeFormat
	}
	c, _ := f.cache.(*cache)
	if c == nil || c.src != v.Str[i] {
		c = &cache{src: v.Str[i], tf: compileFormat(v.Str[i])}
		f.cache = c
	}
	return c.tf
}

func constFormat(e Expr) *timeFormat {
	if s, ok := constString(e); ok {
		return compileFormat(s)
	}
	return nil
}

// buildDateFormat: DATE_FORMAT(x, fmt), fmt in MySQL % style or, without
// any '%', a Java pattern (Flink).
func buildDateFormat(name string, args []Expr) (Expr, error) {
	x, _, err := temporalMicrosArg(name, args[0], false, args)
	if err != nil {
		return nil, err
	}
	fm, ok := asString(args[1])
	if !ok {
		return nil, argTypeErr(name, args)
	}
	f := newFn(name, types.String, []Expr{x, fm}, func(f *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		var buf []byte
		for i, us := range in[0].I64[:n] {
			if out.IsNull(i) {
				continue
			}
			buf = f.formatFor(in[1], i).format(buf[:0], us)
			out.Str[i] = string(buf)
		}
		return nil
	})
	if tf := constFormat(fm); tf != nil {
		f.aux = tf
	}
	return f, nil
}

// buildUnixTimestamp: UNIX_TIMESTAMP() is the current epoch second;
// UNIX_TIMESTAMP(x) converts a TIMESTAMP/DATE, or a string parsed as
// 'yyyy-MM-dd HH:mm:ss' or with the format of the second argument.
func buildUnixTimestamp(name string, args []Expr) (Expr, error) {
	if len(args) == 0 {
		f := newFn(name, types.BigInt, nil, func(_ *fnExpr, _ []*types.Vector, out *types.Vector, n int) error {
			s := nowFunc().Unix()
			for i := range out.I64[:n] {
				out.I64[i] = s
			}
			return nil
		})
		f.isVolat = true
		return f, nil
	}
	x := args[0]
	if len(args) == 2 || x.Type().IsString() {
		p, err := buildToTimestamp("TO_TIMESTAMP", args)
		if err != nil {
			return nil, err
		}
		x = p
	}
	c, _, err := temporalMicrosArg(name, x, false, args)
	if err != nil {
		return nil, err
	}
	return newFn(name, types.BigInt, []Expr{c}, func(_ *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		for i, us := range in[0].I64[:n] {
			out.I64[i] = floorDiv(us, usPerSecond)
		}
		return nil
	}), nil
}

// buildFromUnixtime: FROM_UNIXTIME(n) is the UTC TIMESTAMP of epoch second
// n (fractions kept); FROM_UNIXTIME(n, fmt) formats it as a string.
func buildFromUnixtime(name string, args []Expr) (Expr, error) {
	x, ok := asNumber(args[0])
	if !ok {
		return nil, argTypeErr(name, args)
	}
	prec := 0
	switch xt := x.Type(); {
	case xt.IsFloat():
		x, _ = asDouble(x)
		prec = 6
	case xt.Kind == types.KindDecimal:
		prec = min(xt.Scale, 6)
	}
	t := types.Type{Kind: types.KindTimestamp, Precision: prec}
	ts := newFn(name, t, []Expr{x}, func(_ *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		v := in[0]
		for i := 0; i < n; i++ {
			if out.IsNull(i) {
				continue
			}
			var us int64
			ok := true
			if v.Type.Class() == types.ClassF64 {
				f := v.F64[i] * 1e6
				ok = !math.IsNaN(f) && f > float64(minTimestamp) && f < float64(maxTimestamp)
				us = int64(math.Round(f))
			} else {
				_, s := decimalParams(v.Type)
				us, ok = rescale(v.I64[i], s, 6)
			}
			if !ok || us < minTimestamp || us > maxTimestamp {
				setNullAt(out, i)
				continue
			}
			out.I64[i] = us
		}
		return nil
	})
	if len(args) == 1 {
		return ts, nil
	}
	return buildDateFormat("FROM_UNIXTIME", []Expr{ts, args[1]})
}

// buildToTimestamp: TO_TIMESTAMP(s[, fmt]) → TIMESTAMP(3) and
// TO_DATE(s[, fmt]) → DATE, as in Flink. Without fmt the text is read
// leniently ('yyyy-MM-dd[ HH:mm[:ss[.fff]]]'); fmt is a Java pattern
// ('yyyy-MM-dd HH:mm:ss') or a MySQL % format. Unparsable text gives NULL.
func buildToTimestamp(name string, args []Expr) (Expr, error) {
	s, ok := asString(args[0])
	if !ok {
		return nil, argTypeErr(name, args)
	}
	fargs := []Expr{s}
	if len(args) == 2 {
		fm, ok := asString(args[1])
		if !ok {
			return nil, argTypeErr(name, args)
		}
		fargs = append(fargs, fm)
	}
	t := types.Type{Kind: types.KindTimestamp, Precision: 3}
	if name == "TO_DATE" {
		t = types.Date
	}
	f := newFn(name, t, fargs, func(f *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		for i, s := range in[0].Str[:n] {
			if out.IsNull(i) {
				continue
			}
			var us int64
			var ok bool
			if len(in) == 2 {
				us, ok = f.formatFor(in[1], i).parse(s)
			} else {
				us, ok = parseTimestamp(s)
			}
			if !ok {
				setNullAt(out, i)
				continue
			}
			if f.t.Kind == types.KindDate {
				out.I64[i] = floorDiv(us, usPerDay)
			} else {
				out.I64[i] = truncFraction(us, f.t.Precision)
			}
		}
		return nil
	})
	if len(fargs) == 2 {
		if tf := constFormat(fargs[1]); tf != nil {
			f.aux = tf
		}
	}
	return f, nil
}

// buildToTimestampLTZ: TO_TIMESTAMP_LTZ(n[, precision]) as in Flink: epoch
// seconds (precision 0, the default) or milliseconds (3).
func buildToTimestampLTZ(name string, args []Expr) (Expr, error) {
	x, ok := asNumber(args[0])
	if !ok {
		return nil, argTypeErr(name, args)
	}
	x, _ = asDouble(x)
	unit := 1e6
	if len(args) == 2 {
		p, ok := asInt(args[1])
		if !ok || !IsConst(p) {
			return nil, typeErr("%s precision must be a constant 0 or 3", name)
		}
		d, err := constValue(p)
		if err != nil {
			return nil, err
		}
		switch d.I {
		case 0:
		case 3:
			unit = 1e3
		default:
			return nil, typeErr("%s precision must be a constant 0 or 3", name)
		}
	}
	t := types.Type{Kind: types.KindTimestampLTZ, Precision: 3}
	return newFn(name, t, []Expr{x}, func(_ *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		for i, v := range in[0].F64[:n] {
			us := math.Round(v * unit)
			if math.IsNaN(us) || us < float64(minTimestamp) || us > float64(maxTimestamp) {
				if !out.IsNull(i) {
					setNullAt(out, i)
				}
				continue
			}
			out.I64[i] = truncFraction(int64(us), 3)
		}
		return nil
	}), nil
}

// buildDate: DATE(x) → the DATE part of a TIMESTAMP, DATE or string.
func buildDate(name string, args []Expr) (Expr, error) {
	c, ok, err := asDays(args[0])
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, argTypeErr(name, args)
	}
	f := newFn(name, types.Date, []Expr{c}, func(_ *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		copy(out.I64, in[0].I64[:n])
		return nil
	})
	return f, nil
}
