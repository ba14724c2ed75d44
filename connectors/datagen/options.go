package datagen

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec/types"
)

// Option names, as in Flink's datagen connector.
const (
	optRowsPerSecond = "rows-per-second"
	optNumberOfRows  = "number-of-rows"
	fieldsPrefix     = "fields."

	attrKind     = "kind"
	attrStart    = "start"
	attrEnd      = "end"
	attrMin      = "min"
	attrMax      = "max"
	attrLength   = "length"
	attrNullRate = "null-rate"
)

var knownOptions = []string{
	optRowsPerSecond, optNumberOfRows,
	"fields.*.kind", "fields.*.start", "fields.*.end", "fields.*.min", "fields.*.max",
	"fields.*.length", "fields.*.null-rate",
}

// Defaults.
const (
	// DefaultRowsPerSecond is the table-wide rate when 'rows-per-second' is not set.
	DefaultRowsPerSecond = 10000
	// DefaultStringLength is the length of random strings when
	// 'fields.<col>.length' is not set (capped by a CHAR/VARCHAR length).
	DefaultStringLength = 100
)

// Base is the centre of random DATE and TIMESTAMP values when no min/max is
// given: 2024-01-01 00:00:00 UTC. A fixed base keeps rows deterministic.
var Base = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	microsPerDay = 86_400_000_000
	// defaultDateSpan is how far random dates stray from Base, in days.
	defaultDateSpan = 365
)

// config is a table's parsed datagen options.
type config struct {
	// rowsPerSecond is the table-wide rate; <= 0 means unlimited.
	rowsPerSecond int64
	// total is the number of rows of a bounded table, -1 when unbounded.
	total int64
	// cols has one generator per table column, in schema order.
	cols []colGen
}

// fieldOption is one 'fields.<col>.<attr>' option as written.
type fieldOption struct{ key, value string }

// parseConfig validates t's options and builds the generators. Errors name
// the table and the offending option.
func parseConfig(t *connectors.Table) (*config, error) {
	if err := connectors.CheckOptions(t.Name, t.Options, knownOptions, nil); err != nil {
		return nil, err
	}
	cfg := &config{rowsPerSecond: DefaultRowsPerSecond, total: -1}
	if v, ok := t.Options[optRowsPerSecond]; ok {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return nil, optionError(t.Name, optRowsPerSecond, "invalid integer '%s'", v)
		}
		cfg.rowsPerSecond = n
	}
	if v, ok := t.Options[optNumberOfRows]; ok {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return nil, optionError(t.Name, optNumberOfRows, "invalid integer '%s'", v)
		}
		if n < 0 {
			return nil, optionError(t.Name, optNumberOfRows, "must not be negative, got %d", n)
		}
		cfg.total = n
	}

	fields, err := fieldOptions(t)
	if err != nil {
		return nil, err
	}
	cfg.cols = make([]colGen, len(t.Schema))
	for i, col := range t.Schema {
		g, err := buildColumn(t.Name, i, col, fields[i])
		if err != nil {
			return nil, err
		}
		cfg.cols[i] = g
		if g.mode.isSequence() {
			if n := g.end - g.start + 1; cfg.total < 0 || n < cfg.total {
				cfg.total = n
			}
		}
	}
	return cfg, nil
}

// fieldOptions groups the 'fields.<col>.<attr>' options by column index.
func fieldOptions(t *connectors.Table) (map[int]map[string]fieldOption, error) {
	keys := make([]string, 0, len(t.Options))
	for k := range t.Options {
		if strings.HasPrefix(k, fieldsPrefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := map[int]map[string]fieldOption{}
	for _, k := range keys {
		rest := k[len(fieldsPrefix):]
		dot := strings.LastIndexByte(rest, '.')
		if dot <= 0 { // CheckOptions accepts only fields.<col>.<attr>
			return nil, optionError(t.Name, k, "expected 'fields.<column>.<attribute>'")
		}
		name, attr := rest[:dot], rest[dot+1:]
		idx := t.Schema.Index(name)
		if idx < 0 {
			return nil, optionError(t.Name, k, "table has no column '%s'", name)
		}
		if out[idx] == nil {
			out[idx] = map[string]fieldOption{}
		}
		out[idx][attr] = fieldOption{key: k, value: t.Options[k]}
	}
	return out, nil
}

// buildColumn makes the generator of table column idx from its options.
func buildColumn(table string, idx int, col types.Column, opts map[string]fieldOption) (colGen, error) {
	g := colGen{salt: columnSalt(idx), nullSalt: columnSalt(idx) ^ nullSaltMix, unit: 1, mul: 1}
	typ := col.Type
	if typ.Kind == types.KindNull {
		return g, fmt.Errorf("table %s: column '%s' has type NULL, which datagen cannot generate", table, col.Name)
	}
	if typ.Kind == types.KindDecimal && (typ.Precision < 1 || typ.Precision > types.MaxDecimalPrecision ||
		typ.Scale < 0 || typ.Scale > typ.Precision) {
		return g, fmt.Errorf("table %s: column '%s' has type %s, which datagen cannot generate", table, col.Name, typ)
	}
	// notFor reports an option that does not apply to this column.
	notFor := func(attr, why string) error {
		if o, ok := opts[attr]; ok {
			return optionError(table, o.key, "not supported for %s column '%s' %s", typ, col.Name, why)
		}
		return nil
	}
	kind := "random"
	if o, ok := opts[attrKind]; ok {
		kind = strings.ToLower(strings.TrimSpace(o.value))
		if kind != "random" && kind != "sequence" {
			return g, optionError(table, o.key, "invalid kind '%s' (expected 'sequence' or 'random')", o.value)
		}
	}
	if o, ok := opts[attrNullRate]; ok {
		r, err := strconv.ParseFloat(strings.TrimSpace(o.value), 64)
		if err != nil || r < 0 || r > 1 || math.IsNaN(r) {
			return g, optionError(table, o.key, "invalid rate '%s' (expected a number in [0, 1])", o.value)
		}
		if r > 0 && typ.NotNull {
			return g, optionError(table, o.key, "column '%s' is NOT NULL", col.Name)
		}
		g.nullRate = r
	}

	if kind == "sequence" {
		for _, a := range []string{attrMin, attrMax, attrLength} {
			if err := notFor(a, "of kind 'sequence'"); err != nil {
				return g, err
			}
		}
		return g, buildSequence(table, col, opts, &g)
	}
	for _, a := range []string{attrStart, attrEnd} {
		if err := notFor(a, "of kind 'random' (start and end are for 'sequence')"); err != nil {
			return g, err
		}
	}
	if typ.IsString() {
		if err := notFor(attrMin, "(use 'length')"); err != nil {
			return g, err
		}
		if err := notFor(attrMax, "(use 'length')"); err != nil {
			return g, err
		}
		return g, buildRandomString(table, col, opts, &g)
	}
	if err := notFor(attrLength, "('length' is for string columns)"); err != nil {
		return g, err
	}
	if typ.Kind == types.KindBool {
		if err := notFor(attrMin, ""); err != nil {
			return g, err
		}
		if err := notFor(attrMax, ""); err != nil {
			return g, err
		}
		g.mode, g.min, g.max = modeRandI64, 0, 1
		return g, nil
	}
	return g, buildRandomRange(table, col, opts, &g)
}

// buildSequence configures a sequence column: start + n for row n.
func buildSequence(table string, col types.Column, opts map[string]fieldOption, g *colGen) error {
	typ := col.Type
	switch {
	case typ.IsInteger(), typ.Kind == types.KindDecimal:
		g.mode = modeSeqI64
	case typ.IsFloat():
		g.mode = modeSeqF64
		g.float32 = typ.Kind == types.KindFloat
	case typ.IsString() && typ.Kind != types.KindBytes:
		g.mode = modeSeqStr
	default:
		o := opts[attrKind]
		return optionError(table, o.key, "kind 'sequence' is not supported for %s column '%s'", typ, col.Name)
	}
	var bound [2]int64
	for i, attr := range []string{attrStart, attrEnd} {
		o, ok := opts[attr]
		if !ok {
			return fmt.Errorf("table %s: option 'fields.%s.%s' is required for sequence column '%s'",
				table, strings.ToLower(col.Name), attr, col.Name)
		}
		v, err := strconv.ParseInt(strings.TrimSpace(o.value), 10, 64)
		if err != nil {
			return optionError(table, o.key, "invalid integer '%s'", o.value)
		}
		lo, hi := integerRange(typ)
		if v < lo || v > hi {
			return optionError(table, o.key, "%d is out of range for %s", v, typ)
		}
		bound[i] = v
	}
	g.start, g.end = bound[0], bound[1]
	if g.start > g.end {
		return optionError(table, opts[attrStart].key, "start %d is greater than end %d", g.start, g.end)
	}
	if g.end-g.start == math.MaxInt64 || g.end-g.start < 0 {
		return optionError(table, opts[attrEnd].key, "the sequence %d..%d has too many values", g.start, g.end)
	}
	if typ.Kind == types.KindDecimal {
		g.mul = types.Pow10[typ.Scale]
	}
	return nil
}

// integerRange returns the values a sequence of typ may take (in whole units
// for DECIMAL).
func integerRange(t types.Type) (int64, int64) {
	switch t.Kind {
	case types.KindTinyInt:
		return math.MinInt8, math.MaxInt8
	case types.KindSmallInt:
		return math.MinInt16, math.MaxInt16
	case types.KindInt:
		return math.MinInt32, math.MaxInt32
	case types.KindDecimal:
		if t.Precision-t.Scale <= 0 {
			return 0, 0
		}
		m := types.Pow10[t.Precision-t.Scale] - 1
		return -m, m
	}
	return math.MinInt64, math.MaxInt64
}

// buildRandomString configures a random CHAR/VARCHAR/STRING/BYTES column.
func buildRandomString(table string, col types.Column, opts map[string]fieldOption, g *colGen) error {
	typ := col.Type
	g.mode = modeRandStr
	if typ.Kind == types.KindBytes {
		g.mode = modeRandBytes
	}
	g.length = DefaultStringLength
	if typ.Length > 0 && typ.Length < g.length {
		g.length = typ.Length
	}
	if o, ok := opts[attrLength]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(o.value))
		if err != nil {
			return optionError(table, o.key, "invalid integer '%s'", o.value)
		}
		if n < 0 {
			return optionError(table, o.key, "must not be negative, got %d", n)
		}
		if typ.Length > 0 && n > typ.Length {
			return optionError(table, o.key, "length %d exceeds the column type %s", n, typ)
		}
		g.length = n
	}
	return nil
}

// buildRandomRange configures a random numeric or temporal column with
// values in [min, max].
func buildRandomRange(table string, col types.Column, opts map[string]fieldOption, g *colGen) error {
	typ := col.Type
	if typ.IsFloat() {
		g.mode, g.minF, g.maxF = modeRandF64, 0, 1
		g.float32 = typ.Kind == types.KindFloat
		for _, attr := range []string{attrMin, attrMax} {
			o, ok := opts[attr]
			if !ok {
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(o.value), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return optionError(table, o.key, "invalid number '%s'", o.value)
			}
			if attr == attrMin {
				g.minF = f
			} else {
				g.maxF = f
			}
		}
		if g.minF > g.maxF {
			return optionError(table, minKey(col, opts), "min %v is greater than max %v", g.minF, g.maxF)
		}
		return nil
	}

	g.mode = modeRandI64
	var parse func(string) (int64, bool)
	switch typ.Kind {
	case types.KindTinyInt, types.KindSmallInt, types.KindInt, types.KindBigInt:
		lo, hi := integerRange(typ)
		g.min, g.max = lo, hi
		parse = func(s string) (int64, bool) {
			v, err := strconv.ParseInt(s, 10, 64)
			return v, err == nil && v >= lo && v <= hi
		}
	case types.KindDecimal:
		m := types.Pow10[typ.Precision] - 1
		g.min, g.max = -m, m
		parse = func(s string) (int64, bool) { return parseDecimal(s, typ.Precision, typ.Scale) }
	case types.KindDate:
		base := Base.Unix() / 86400
		g.min, g.max = base-defaultDateSpan, base+defaultDateSpan
		parse = func(s string) (int64, bool) {
			t, err := time.Parse("2006-01-02", s)
			return t.Unix() / 86400, err == nil
		}
	case types.KindTime:
		g.min, g.max = 0, microsPerDay-1
		g.unit = types.Pow10[6-clampPrecision(typ.Precision)]
		parse = func(s string) (int64, bool) {
			t, err := time.Parse("15:04:05", s)
			us := (int64(t.Hour())*3600+int64(t.Minute())*60+int64(t.Second()))*1_000_000 + int64(t.Nanosecond()/1000)
			return us, err == nil
		}
	case types.KindTimestamp, types.KindTimestampLTZ:
		base := Base.UnixMicro()
		g.min, g.max = base-microsPerDay, base+microsPerDay-1
		g.unit = types.Pow10[6-clampPrecision(typ.Precision)]
		parse = func(s string) (int64, bool) {
			s = strings.TrimSuffix(strings.Replace(s, "T", " ", 1), "Z")
			t, err := time.Parse("2006-01-02 15:04:05", s)
			return t.UnixMicro(), err == nil
		}
	default:
		return fmt.Errorf("table %s: column '%s' has type %s, which datagen cannot generate", table, col.Name, typ)
	}
	for _, attr := range []string{attrMin, attrMax} {
		o, ok := opts[attr]
		if !ok {
			continue
		}
		v, ok := parse(strings.TrimSpace(o.value))
		if !ok {
			return optionError(table, o.key, "invalid %s value '%s'", typ, o.value)
		}
		if attr == attrMin {
			g.min = v
		} else {
			g.max = v
		}
	}
	if g.min > g.max {
		return optionError(table, minKey(col, opts), "min is greater than max")
	}
	return nil
}

func minKey(col types.Column, opts map[string]fieldOption) string {
	if o, ok := opts[attrMin]; ok {
		return o.key
	}
	return "fields." + strings.ToLower(col.Name) + ".min"
}

func clampPrecision(p int) int { return min(max(p, 0), 6) }

// parseDecimal parses s as a DECIMAL(p, sc) and returns its unscaled value.
// It rejects more than sc fractional digits and values beyond p digits.
func parseDecimal(s string, p, sc int) (int64, bool) {
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	if intPart == "" && frac == "" || len(frac) > sc {
		return 0, false
	}
	var v int64
	digits := 0
	for _, part := range []string{intPart, frac + strings.Repeat("0", sc-len(frac))} {
		for i := 0; i < len(part); i++ {
			c := part[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			if v != 0 || c != '0' {
				digits++
			}
			if digits > p {
				return 0, false
			}
			v = v*10 + int64(c-'0')
		}
	}
	if neg {
		v = -v
	}
	return v, true
}

// optionError formats "table t: option 'k': <why>".
func optionError(table, key, format string, args ...any) error {
	return fmt.Errorf("table %s: option '%s': %s", table, key, fmt.Sprintf(format, args...))
}
