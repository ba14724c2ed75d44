package exectest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicesql/sluice/exec/types"
)

// Parse builds a batch with column types ts from text in the batch notation.
func Parse(ts []types.Type, text string) (*types.Batch, error) {
	b := types.NewBatch(ts)
	rows, err := tokenize(text)
	if err != nil {
		return nil, err
	}
	row := make([]types.Datum, len(ts))
	for n, toks := range rows {
		if len(toks) != len(ts)+1 {
			return nil, fmt.Errorf("row %d: %d values for %d columns", n+1, len(toks)-1, len(ts))
		}
		op, err := parseOp(toks[0].text)
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", n+1, err)
		}
		for c, tok := range toks[1:] {
			if row[c], err = ParseDatum(ts[c], tok.text, tok.quoted); err != nil {
				return nil, fmt.Errorf("row %d column %d: %w", n+1, c, err)
			}
		}
		b.AppendRow(op, row)
	}
	return b, nil
}

// MustParse is Parse that fails the test on error.
func MustParse(tb testing.TB, ts []types.Type, text string) *types.Batch {
	tb.Helper()
	b, err := Parse(ts, text)
	if err != nil {
		tb.Fatalf("parse batch: %v", err)
	}
	return b
}

// Format prints b in the batch notation, one row per line.
func Format(b *types.Batch) string {
	var sb strings.Builder
	for i := range b.Len() {
		if i > 0 {
			sb.WriteByte('\n')
		}
		sb.WriteString(b.Ops[i].String())
		for c := range b.Cols {
			sb.WriteByte(' ')
			sb.WriteString(FormatDatum(Get(&b.Cols[c], i)))
		}
	}
	return sb.String()
}

// Get returns row i of v as a datum. Unlike types.Vector.Get it treats a
// Nulls slice shorter than the values as "no NULLs".
func Get(v *types.Vector, i int) types.Datum {
	if i < len(v.Nulls) && v.Nulls[i] {
		return types.NullDatum(v.Type)
	}
	switch v.Type.Class() {
	case types.ClassF64:
		return types.Datum{Type: v.Type, F: v.F64[i]}
	case types.ClassStr:
		return types.Datum{Type: v.Type, S: v.Str[i]}
	default:
		return types.Datum{Type: v.Type, I: v.I64[i]}
	}
}

// FormatAll prints the rows of several batches, one row per line.
func FormatAll(bs []*types.Batch) string {
	var parts []string
	for _, b := range bs {
		if b.Len() > 0 {
			parts = append(parts, Format(b))
		}
	}
	return strings.Join(parts, "\n")
}

// Canonical reprints notation text for column types ts as Format prints
// it, so that expectations can be written loosely (true for TRUE, 1.50 for
// a DECIMAL(5, 2) 1.5, extra blanks). It fails the test on malformed text.
func Canonical(tb testing.TB, ts []types.Type, text string) string {
	tb.Helper()
	b := MustParse(tb, ts, text)
	defer b.Release()
	return Format(b)
}

// Expect fails the test unless the rows of got, in order, are want.
func Expect(tb testing.TB, ts []types.Type, got []*types.Batch, want string) {
	tb.Helper()
	if g, w := FormatAll(got), Canonical(tb, ts, want); g != w {
		tb.Errorf("rows:\n%s\nwant:\n%s", g, w)
	}
}

// FormatDatum prints one value of the notation.
func FormatDatum(d types.Datum) string {
	s := d.String()
	if !d.Null && needsQuote(s) {
		return quote(s)
	}
	return s
}

func needsQuote(s string) bool {
	return s == "" || s == "NULL" || s == "/" || strings.ContainsAny(s, " \t\n/") || strings.HasPrefix(s, "'")
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

type token struct {
	text   string
	quoted bool
}

// tokenize splits text into rows of tokens; rows end at newlines and at
// unquoted "/" tokens.
func tokenize(text string) ([][]token, error) {
	var rows [][]token
	var cur []token
	flush := func() {
		if len(cur) > 0 {
			rows = append(rows, cur)
			cur = nil
		}
	}
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '\n':
			flush()
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '\'':
			var sb strings.Builder
			j := i + 1
			for {
				if j >= len(text) {
					return nil, fmt.Errorf("unterminated quote in %q", text[i:])
				}
				if text[j] == '\'' {
					if j+1 < len(text) && text[j+1] == '\'' {
						sb.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				sb.WriteByte(text[j])
				j++
			}
			cur = append(cur, token{text: sb.String(), quoted: true})
			i = j + 1
		default:
			j := i
			for j < len(text) && !strings.ContainsRune(" \t\r\n", rune(text[j])) {
				j++
			}
			if w := text[i:j]; w == "/" {
				flush()
			} else {
				cur = append(cur, token{text: w})
			}
			i = j
		}
	}
	flush()
	return rows, nil
}

func parseOp(s string) (types.Op, error) {
	for _, op := range []types.Op{types.Insert, types.UpdateBefore, types.UpdateAfter, types.Delete} {
		if s == op.String() {
			return op, nil
		}
	}
	return 0, fmt.Errorf("bad change op %q (want +I, -U, +U or -D)", s)
}

// ParseDatum parses one value of type t written as in the notation; quoted
// says whether it was quoted (a quoted NULL is the string "NULL").
func ParseDatum(t types.Type, s string, quoted bool) (types.Datum, error) {
	if !quoted && strings.EqualFold(s, "NULL") {
		return types.NullDatum(t), nil
	}
	d := types.Datum{Type: t}
	var err error
	switch t.Kind {
	case types.KindBool:
		switch strings.ToLower(s) {
		case "true", "1":
			d.I = 1
		case "false", "0":
		default:
			err = fmt.Errorf("bad BOOLEAN %q", s)
		}
	case types.KindTinyInt, types.KindSmallInt, types.KindInt, types.KindBigInt:
		d.I, err = strconv.ParseInt(s, 10, 64)
	case types.KindFloat, types.KindDouble:
		d.F, err = strconv.ParseFloat(s, 64)
	case types.KindDecimal:
		d.I, err = parseDecimal(s, t.Scale)
	case types.KindChar, types.KindVarchar, types.KindString, types.KindBytes:
		d.S = s
	case types.KindDate:
		var tm time.Time
		tm, err = time.Parse("2006-01-02", s)
		d.I = types.TimeToDays(tm)
	case types.KindTime:
		var tm time.Time
		tm, err = time.Parse("15:04:05.999999", s)
		d.I = int64(tm.Hour())*3_600_000_000 + int64(tm.Minute())*60_000_000 +
			int64(tm.Second())*1_000_000 + int64(tm.Nanosecond()/1000)
	case types.KindTimestamp, types.KindTimestampLTZ:
		var tm time.Time
		tm, err = time.Parse("2006-01-02 15:04:05.999999", strings.Replace(s, "T", " ", 1))
		d.I = types.TimeToMicros(tm)
	default:
		err = fmt.Errorf("cannot parse a value of type %v", t)
	}
	if err != nil {
		return d, fmt.Errorf("%v value %q: %w", t, s, err)
	}
	return d, nil
}

func parseDecimal(s string, scale int) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	ip, fp, _ := strings.Cut(s, ".")
	if len(fp) > scale {
		return 0, fmt.Errorf("more than %d fractional digits", scale)
	}
	fp += strings.Repeat("0", scale-len(fp))
	v, err := strconv.ParseInt(ip+fp, 10, 64)
	if neg {
		v = -v
	}
	return v, err
}
