package filesystem

import (
	"encoding/base64"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/sluicesql/sluice/exec/types"
)

// rowEncoder appends the encoding of row i of b, with its line break.
type rowEncoder interface {
	appendRow(dst []byte, b *types.Batch, i int) []byte
}

// appendPlain appends the text form of row i of v, which must not be NULL
// nor a string or BYTES value: the forms setText reads back. Timestamps use
// sep between date and time; TIMESTAMP_LTZ ends with 'Z' as in Flink.
func appendPlain(dst []byte, v *types.Vector, i int, sep byte) []byte {
	t := v.Type
	switch t.Kind {
	case types.KindBool:
		if v.I64[i] != 0 {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case types.KindFloat:
		return appendFloat(dst, v.F64[i], 32)
	case types.KindDouble:
		return appendFloat(dst, v.F64[i], 64)
	case types.KindDecimal:
		return appendDecimal(dst, v.I64[i], t.Scale)
	case types.KindDate:
		return appendDate(dst, v.I64[i])
	case types.KindTime:
		return appendClock(dst, v.I64[i], t.Precision)
	case types.KindTimestamp:
		return appendTimestamp(dst, v.I64[i], t.Precision, sep)
	case types.KindTimestampLTZ:
		return append(appendTimestamp(dst, v.I64[i], t.Precision, sep), 'Z')
	}
	return strconv.AppendInt(dst, v.I64[i], 10)
}

// appendFloat appends f as SQL results show it (shortest round-trip form);
// NaN and infinities as NaN, Infinity, -Infinity (which strconv reads back).
func appendFloat(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, bits)
}

// appendDecimal appends the unscaled decimal v with scale s, e.g. (-5, 2) → -0.05.
func appendDecimal(dst []byte, v int64, s int) []byte {
	if s <= 0 {
		return strconv.AppendInt(dst, v, 10)
	}
	u := uint64(v)
	if v < 0 {
		dst = append(dst, '-')
		u = -u
	}
	var tmp [24]byte
	d := strconv.AppendUint(tmp[:0], u, 10)
	if len(d) <= s {
		dst = append(dst, '0', '.')
		for range s - len(d) {
			dst = append(dst, '0')
		}
		return append(dst, d...)
	}
	dst = append(dst, d[:len(d)-s]...)
	dst = append(dst, '.')
	return append(dst, d[len(d)-s:]...)
}

func appendBase64(dst []byte, s string) []byte {
	return base64.StdEncoding.AppendEncode(dst, []byte(s))
}

// jsonEncoder writes one JSON object per line: {"a":1,"b":"x","c":null},
// columns in schema order. Timestamps are strings in SQL form (or ISO-8601),
// BYTES base64, NaN and infinities strings.
type jsonEncoder struct {
	keys  [][]byte // `{"a":`, `,"b":`, ...
	tsSep byte
}

func newJSONEncoder(schema types.Schema, iso bool) *jsonEncoder {
	e := &jsonEncoder{keys: make([][]byte, len(schema)), tsSep: ' '}
	if iso {
		e.tsSep = 'T'
	}
	for i, c := range schema {
		k := []byte{','}
		if i == 0 {
			k[0] = '{'
		}
		k = appendJSONString(k, c.Name)
		e.keys[i] = append(k, ':')
	}
	return e
}

func (e *jsonEncoder) appendRow(dst []byte, b *types.Batch, i int) []byte {
	if len(b.Cols) == 0 {
		return append(dst, "{}\n"...)
	}
	for c := range b.Cols {
		dst = append(dst, e.keys[c]...)
		v := &b.Cols[c]
		if v.IsNull(i) {
			dst = append(dst, "null"...)
			continue
		}
		switch k := v.Type.Kind; {
		case k == types.KindBytes:
			dst = append(dst, '"')
			dst = append(appendBase64(dst, v.Str[i]), '"')
		case v.Type.IsString():
			dst = appendJSONString(dst, v.Str[i])
		case v.Type.IsTemporal(), v.Type.IsFloat() && (math.IsNaN(v.F64[i]) || math.IsInf(v.F64[i], 0)):
			dst = append(dst, '"')
			dst = append(appendPlain(dst, v, i, e.tsSep), '"')
		default:
			dst = appendPlain(dst, v, i, e.tsSep)
		}
	}
	return append(dst, '}', '\n')
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			if c < 0x20 {
				dst = append(dst, '\\', 'u', '0', '0', hexDigit[c>>4], hexDigit[c&15])
			} else {
				dst = append(dst, "\ufffd"...)
			}
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

const hexDigit = "0123456789abcdef"

// csvEncoder writes RFC 4180 records: fields quoted when they contain the
// delimiter, the quote character or a line break, when they are empty
// strings, or when they equal the null literal; NULL is the null literal
// (empty without one). With quoting disabled fields are written as they are.
type csvEncoder struct {
	opt     csvOptions
	special [256]bool // bytes that force quoting
	scratch []byte
}

func newCSVEncoder(opt csvOptions) *csvEncoder {
	e := &csvEncoder{opt: opt}
	e.special[opt.delim], e.special['\n'], e.special['\r'] = true, true, true
	if opt.quote != 0 {
		e.special[opt.quote] = true
	}
	return e
}

func (e *csvEncoder) appendRow(dst []byte, b *types.Batch, i int) []byte {
	for c := range b.Cols {
		if c > 0 {
			dst = append(dst, e.opt.delim)
		}
		v := &b.Cols[c]
		switch {
		case v.IsNull(i):
			dst = append(dst, e.opt.nullLiteral...)
		case v.Type.Kind == types.KindBytes:
			e.scratch = appendBase64(e.scratch[:0], v.Str[i])
			dst = appendCSVField(e, dst, e.scratch, false)
		case v.Type.IsString():
			dst = appendCSVField(e, dst, v.Str[i], true)
		default:
			e.scratch = appendPlain(e.scratch[:0], v, i, ' ')
			dst = appendCSVField(e, dst, e.scratch, false)
		}
	}
	return append(dst, '\n')
}

func appendCSVField[S string | []byte](e *csvEncoder, dst []byte, f S, isString bool) []byte {
	needQuote := (isString && len(f) == 0) || (e.opt.hasNull && string(f) == e.opt.nullLiteral)
	for i := 0; i < len(f) && !needQuote; i++ {
		needQuote = e.special[f[i]]
	}
	if !needQuote || e.opt.quote == 0 {
		return append(dst, f...)
	}
	q := e.opt.quote
	dst = append(dst, q)
	for i := 0; i < len(f); i++ {
		if f[i] == q {
			dst = append(dst, q)
		}
		dst = append(dst, f[i])
	}
	return append(dst, q)
}
