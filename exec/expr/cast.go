package expr

import (
	"math"
	"strconv"

	"github.com/sluicesql/sluice/exec/types"
)

// convFn converts n rows of in (already known NULL-free where out is not
// NULL) into out, which has been prepared with the target type and the
// input's NULLs.
type convFn func(c *castExpr, in, out *types.Vector, n int) error

type castExpr struct {
	args     []Expr
	to       types.Type
	conv     convFn
	implicit bool
	buf      types.Vector
}

// Cast converts e to type to. It returns e itself when it already has that
// type, and a type error when no conversion exists (for example DATE to
// INT). Conversions:
//
//   - numeric ↔ numeric: FLOAT/DOUBLE → integer or DECIMAL rounds half away
//     from zero; a value outside the target's range is a runtime error
//     ("TINYINT value is out of range in 'CAST(x AS TINYINT)'").
//   - string → numeric, BOOLEAN, DATE, TIME, TIMESTAMP: malformed input gives
//     NULL (like Flink's TRY_CAST; MySQL would give 0 or a zero date).
//   - anything → string: the text Datum.String prints (TRUE/FALSE for
//     booleans); CHAR(n)/VARCHAR(n) truncate to n characters.
//   - TIMESTAMP ↔ DATE, TIMESTAMP → TIME, TIMESTAMP(p) → TIMESTAMP(q)
//     (fractional digits truncated), TIMESTAMP ↔ TIMESTAMP_LTZ (both UTC).
//   - integer → TIMESTAMP reads epoch seconds; TIMESTAMP → integer gives
//     epoch seconds.
func Cast(e Expr, to types.Type) (Expr, error) {
	return newCast(e, to, false)
}

func newCast(e Expr, to types.Type, implicit bool) (Expr, error) {
	from := e.Type()
	if from.Equal(to) {
		return e, nil
	}
	if to.Kind == types.KindNull {
		return nil, typeErr("cannot cast %s to NULL", from.Kind)
	}
	conv := pickConv(from, to)
	if conv == nil {
		return nil, typeErr("cannot cast %s to %s", from.Kind, to.Kind)
	}
	return &castExpr{args: []Expr{e}, to: to, conv: conv, implicit: implicit}, nil
}

// implicitCast converts e to t for an operator or function argument.
func implicitCast(e Expr, t types.Type) (Expr, error) { return newCast(e, t, true) }

func (c *castExpr) Type() types.Type { return c.to }
func (c *castExpr) children() []Expr { return c.args }
func (c *castExpr) Clone() Expr {
	return &castExpr{args: cloneAll(c.args), to: c.to, conv: c.conv, implicit: c.implicit}
}
func (c *castExpr) String() string {
	return "CAST(" + c.args[0].String() + " AS " + c.to.String() + ")"
}

func (c *castExpr) Eval(b *types.Batch, out *types.Vector) error {
	n := b.Len()
	in, err := evalArg(c.args[0], b, &c.buf)
	if err != nil {
		return err
	}
	prepare(out, c.to, n)
	if in.Type.Kind == types.KindNull {
		nulls := ensureNulls(out, n)
		for i := range nulls {
			nulls[i] = true
		}
		return nil
	}
	unionNulls(out, n, in, nil)
	return c.conv(c, in, out, n)
}

func pickConv(from, to types.Type) convFn {
	if from.Kind == types.KindNull {
		return convNull
	}
	switch {
	case to.IsString():
		if from.IsString() {
			return convStrToStr
		}
		return convToStr
	case to.Kind == types.KindBool:
		switch {
		case from.Kind == types.KindBool || from.IsInteger() || from.Kind == types.KindDecimal:
			return convIntToBool
		case from.IsFloat():
			return convFloatToBool
		case from.IsString():
			return convStrToBool
		}
	case to.IsInteger():
		switch {
		case from.Kind == types.KindBool || from.IsInteger():
			return convIntToInt
		case from.Kind == types.KindDecimal:
			return convDecToInt
		case from.IsFloat():
			return convFloatToInt
		case from.IsString():
			return convStrToInt
		case from.Kind == types.KindTimestamp || from.Kind == types.KindTimestampLTZ:
			return convTimestampToInt
		}
	case to.Kind == types.KindDecimal:
		switch {
		case from.Kind == types.KindBool || from.IsInteger() || from.Kind == types.KindDecimal:
			return convDecToDec
		case from.IsFloat():
			return convFloatToDec
		case from.IsString():
			return convStrToDec
		}
	case to.IsFloat():
		switch {
		case from.Kind == types.KindBool || from.IsInteger() || from.Kind == types.KindDecimal:
			return convDecToFloat
		case from.IsFloat():
			return convFloatToFloat
		case from.IsString():
			return convStrToFloat
		}
	case to.Kind == types.KindDate:
		switch {
		case from.Kind == types.KindDate:
			return convIdentity
		case from.Kind == types.KindTimestamp || from.Kind == types.KindTimestampLTZ:
			return convTimestampToDate
		case from.IsString():
			return convStrToDate
		}
	case to.Kind == types.KindTime:
		switch {
		case from.Kind == types.KindTime, from.Kind == types.KindTimestamp || from.Kind == types.KindTimestampLTZ:
			return convToTime
		case from.IsString():
			return convStrToTime
		}
	case to.Kind == types.KindTimestamp || to.Kind == types.KindTimestampLTZ:
		switch {
		case from.Kind == types.KindTimestamp || from.Kind == types.KindTimestampLTZ:
			return convTimestampToTimestamp
		case from.Kind == types.KindDate:
			return convDateToTimestamp
		case from.IsString():
			return convStrToTimestamp
		case from.IsInteger():
			return convIntToTimestamp
		}
	}
	return nil
}

func convNull(_ *castExpr, _, out *types.Vector, n int) error {
	nulls := ensureNulls(out, n)
	for i := range nulls {
		nulls[i] = true
	}
	return nil
}

func convIdentity(_ *castExpr, in, out *types.Vector, _ int) error {
	copy(out.I64, in.I64)
	return nil
}

// intRange returns the value range of an integer kind.
func intRange(k types.Kind) (lo, hi int64) {
	switch k {
	case types.KindBool:
		return 0, 1
	case types.KindTinyInt:
		return math.MinInt8, math.MaxInt8
	case types.KindSmallInt:
		return math.MinInt16, math.MaxInt16
	case types.KindInt:
		return math.MinInt32, math.MaxInt32
	}
	return math.MinInt64, math.MaxInt64
}

func convIntToBool(_ *castExpr, in, out *types.Vector, _ int) error {
	for i, v := range in.I64 {
		out.I64[i] = b2i(v != 0)
	}
	return nil
}

func convFloatToBool(_ *castExpr, in, out *types.Vector, _ int) error {
	for i, v := range in.F64 {
		out.I64[i] = b2i(v != 0)
	}
	return nil
}

func convIntToInt(c *castExpr, in, out *types.Vector, n int) error {
	lo, hi := intRange(c.to.Kind)
	bad := false
	for i, v := range in.I64[:n] {
		out.I64[i] = v
		bad = bad || v < lo || v > hi
	}
	if bad {
		return rangeErr(c.to.Kind.String(), c)
	}
	return nil
}

func convDecToInt(c *castExpr, in, out *types.Vector, n int) error {
	lo, hi := intRange(c.to.Kind)
	s := in.Type.Scale
	for i, v := range in.I64[:n] {
		r := v
		if s > 0 {
			r = rescaleDown(v, s)
		}
		if r < lo || r > hi {
			return rangeErr(c.to.Kind.String(), c)
		}
		out.I64[i] = r
	}
	return nil
}

func convFloatToInt(c *castExpr, in, out *types.Vector, n int) error {
	lo, hi := intRange(c.to.Kind)
	for i, f := range in.F64[:n] {
		if out.IsNull(i) {
			continue
		}
		r := roundHalfAway(f)
		if math.IsNaN(r) || r < float64(lo) || r >= -float64(math.MinInt64) || int64(r) > hi {
			return rangeErr(c.to.Kind.String(), c)
		}
		out.I64[i] = int64(r)
	}
	return nil
}

func convStrToInt(c *castExpr, in, out *types.Vector, n int) error {
	lo, hi := intRange(c.to.Kind)
	for i, s := range in.Str[:n] {
		if out.IsNull(i) {
			continue
		}
		v, ok := parseInt(s)
		if !ok || v < lo || v > hi {
			out.SetNull(i)
			continue
		}
		out.I64[i] = v
	}
	return nil
}

func convTimestampToInt(c *castExpr, in, out *types.Vector, n int) error {
	lo, hi := intRange(c.to.Kind)
	for i, v := range in.I64[:n] {
		sec := floorDiv(v, usPerSecond)
		if sec < lo || sec > hi {
			return rangeErr(c.to.Kind.String(), c)
		}
		out.I64[i] = sec
	}
	return nil
}

// decimalParams returns (precision, scale) of a numeric I64 type: integers
// are DECIMAL(digits, 0).
func decimalParams(t types.Type) (int, int) {
	switch t.Kind {
	case types.KindBool:
		return 1, 0
	case types.KindTinyInt:
		return 3, 0
	case types.KindSmallInt:
		return 5, 0
	case types.KindInt:
		return 10, 0
	case types.KindBigInt:
		return 19, 0
	case types.KindDecimal:
		// Out-of-range parameters (never produced by the planner) are
		// clamped so that no table lookup can fail.
		p := t.Precision
		if p <= 0 || p > types.MaxDecimalPrecision {
			p = types.MaxDecimalPrecision
		}
		return p, min(max(t.Scale, 0), types.MaxDecimalPrecision)
	}
	return types.MaxDecimalPrecision, 0
}

// decimalLimit is the exclusive bound of DECIMAL(p, _) unscaled values.
func decimalLimit(t types.Type) int64 {
	p, _ := decimalParams(t)
	return types.Pow10[min(p, types.MaxDecimalPrecision)]
}

func convDecToDec(c *castExpr, in, out *types.Vector, n int) error {
	_, fs := decimalParams(in.Type)
	ts := c.to.Scale
	limit := decimalLimit(c.to)
	for i, v := range in.I64[:n] {
		r, ok := rescale(v, fs, ts)
		if !ok || r >= limit || r <= -limit {
			return rangeErr("DECIMAL", c)
		}
		out.I64[i] = r
	}
	return nil
}

func convFloatToDec(c *castExpr, in, out *types.Vector, n int) error {
	limit := decimalLimit(c.to)
	var buf [32]byte
	for i, f := range in.F64[:n] {
		if out.IsNull(i) {
			continue
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return rangeErr("DECIMAL", c)
		}
		txt := strconv.AppendFloat(buf[:0], f, 'g', -1, 64)
		v, ok, overflow := parseDecimal(string(txt), c.to.Scale)
		if !ok || overflow || v >= limit || v <= -limit {
			return rangeErr("DECIMAL", c)
		}
		out.I64[i] = v
	}
	return nil
}

func convStrToDec(c *castExpr, in, out *types.Vector, n int) error {
	limit := decimalLimit(c.to)
	for i, s := range in.Str[:n] {
		if out.IsNull(i) {
			continue
		}
		v, ok, overflow := parseDecimal(s, c.to.Scale)
		if !ok || overflow || v >= limit || v <= -limit {
			out.SetNull(i)
			continue
		}
		out.I64[i] = v
	}
	return nil
}

func convDecToFloat(c *castExpr, in, out *types.Vector, n int) error {
	_, s := decimalParams(in.Type)
	p := float64(types.Pow10[s])
	single := c.to.Kind == types.KindFloat
	for i, v := range in.I64[:n] {
		f := float64(v)
		if s > 0 {
			f /= p
		}
		if single {
			f = float64(float32(f))
		}
		out.F64[i] = f
	}
	return nil
}

func convFloatToFloat(c *castExpr, in, out *types.Vector, n int) error {
	if c.to.Kind == types.KindFloat {
		for i, f := range in.F64[:n] {
			out.F64[i] = float64(float32(f))
		}
		return nil
	}
	copy(out.F64, in.F64[:n])
	return nil
}

func convStrToFloat(c *castExpr, in, out *types.Vector, n int) error {
	for i, s := range in.Str[:n] {
		if out.IsNull(i) {
			continue
		}
		f, ok := parseFloat(s)
		if !ok {
			out.SetNull(i)
			continue
		}
		if c.to.Kind == types.KindFloat {
			f = float64(float32(f))
		}
		out.F64[i] = f
	}
	return nil
}

func convStrToBool(_ *castExpr, in, out *types.Vector, n int) error {
	for i, s := range in.Str[:n] {
		if out.IsNull(i) {
			continue
		}
		v, ok := parseBool(s)
		if !ok {
			out.SetNull(i)
			continue
		}
		out.I64[i] = b2i(v)
	}
	return nil
}

func convStrToDate(_ *castExpr, in, out *types.Vector, n int) error {
	for i, s := range in.Str[:n] {
		if out.IsNull(i) {
			continue
		}
		v, ok := parseDate(s)
		if !ok {
			out.SetNull(i)
			continue
		}
		out.I64[i] = v
	}
	return nil
}

func convStrToTime(c *castExpr, in, out *types.Vector, n int) error {
	for i, s := range in.Str[:n] {
		if out.IsNull(i) {
			continue
		}
		v, ok := parseTime(s)
		if !ok {
			out.SetNull(i)
			continue
		}
		out.I64[i] = truncFraction(v, c.to.Precision)
	}
	return nil
}

func convStrToTimestamp(c *castExpr, in, out *types.Vector, n int) error {
	for i, s := range in.Str[:n] {
		if out.IsNull(i) {
			continue
		}
		v, ok := parseTimestamp(s)
		if !ok {
			out.SetNull(i)
			continue
		}
		out.I64[i] = truncFraction(v, c.to.Precision)
	}
	return nil
}

func convTimestampToDate(_ *castExpr, in, out *types.Vector, n int) error {
	for i, v := range in.I64[:n] {
		out.I64[i] = floorDiv(v, usPerDay)
	}
	return nil
}

func convToTime(c *castExpr, in, out *types.Vector, n int) error {
	for i, v := range in.I64[:n] {
		out.I64[i] = truncFraction(floorMod(v, usPerDay), c.to.Precision)
	}
	return nil
}

func convTimestampToTimestamp(c *castExpr, in, out *types.Vector, n int) error {
	for i, v := range in.I64[:n] {
		out.I64[i] = truncFraction(v, c.to.Precision)
	}
	return nil
}

func convDateToTimestamp(_ *castExpr, in, out *types.Vector, n int) error {
	for i, v := range in.I64[:n] {
		out.I64[i] = v * usPerDay
	}
	return nil
}

func convIntToTimestamp(c *castExpr, in, out *types.Vector, n int) error {
	const maxSec = math.MaxInt64 / 1_000_000
	for i, v := range in.I64[:n] {
		if v > maxSec || v < -maxSec {
			return rangeErr(c.to.Kind.String(), c)
		}
		out.I64[i] = v * usPerSecond
	}
	return nil
}

func convStrToStr(c *castExpr, in, out *types.Vector, n int) error {
	limit := c.to.Length
	if c.to.Kind != types.KindChar && c.to.Kind != types.KindVarchar {
		limit = 0
	}
	for i, s := range in.Str[:n] {
		out.Str[i] = truncateRunes(s, limit)
	}
	return nil
}

func convToStr(c *castExpr, in, out *types.Vector, n int) error {
	limit := c.to.Length
	if c.to.Kind != types.KindChar && c.to.Kind != types.KindVarchar {
		limit = 0
	}
	for i := 0; i < n; i++ {
		if out.IsNull(i) {
			continue
		}
		out.Str[i] = truncateRunes(formatValue(in, i), limit)
	}
	return nil
}

// formatValue prints row i of v as text, as Datum.String does.
func formatValue(v *types.Vector, i int) string {
	switch v.Type.Kind {
	case types.KindTinyInt, types.KindSmallInt, types.KindInt, types.KindBigInt:
		return strconv.FormatInt(v.I64[i], 10)
	case types.KindChar, types.KindVarchar, types.KindString, types.KindBytes:
		return v.Str[i]
	}
	return v.Get(i).String()
}

// truncateRunes cuts s to at most n characters (n <= 0: no limit).
func truncateRunes(s string, n int) string {
	if n <= 0 || len(s) <= n {
		return s
	}
	count := 0
	for i := range s {
		if count == n {
			return s[:i]
		}
		count++
	}
	return s
}

// truncFraction keeps prec fractional-second digits of a µs value.
func truncFraction(us int64, prec int) int64 {
	if prec >= 6 || prec < 0 {
		return us
	}
	unit := types.Pow10[6-prec]
	return us - floorMod(us, unit)
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
