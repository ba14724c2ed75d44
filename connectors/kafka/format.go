package kafka

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"

	recformat "github.com/sluicesql/sluice/connectors/format"
	"github.com/sluicesql/sluice/exec/types"
)

// newValueDecoder returns the decoder of format f for fields.
func newValueDecoder(f format, fields []field, a *arena) valueDecoder {
	switch f.name {
	case formatCSV:
		return &csvDecoder{fields: fields, delim: f.delim, null: f.nullLiteral, hasNull: f.hasNull, a: a}
	case formatRaw:
		return &rawDecoder{fields: fields, a: a}
	}
	return newJSONDecoder(fields, f.failOnMissing, a)
}

// csvDecoder parses one CSV record (RFC 4180, a record per Kafka message):
// fields map to columns by position and a record has exactly one field per
// column. An unquoted field equal to the null literal (when set) is NULL,
// as is an empty unquoted field in a non-string column.
type csvDecoder struct {
	fields  []field // all physical columns in order; col -1 when not requested
	delim   byte
	null    string
	hasNull bool
	a       *arena
	buf     []byte
}

func (d *csvDecoder) fill(rec []byte, b *types.Batch, r int) error {
	// A trailing line break is not part of the last field.
	for len(rec) > 0 && (rec[len(rec)-1] == '\n' || rec[len(rec)-1] == '\r') {
		rec = rec[:len(rec)-1]
	}
	i, k := 0, 0
	for {
		var val []byte
		quoted := false
		if i < len(rec) && rec[i] == '"' {
			quoted = true
			d.buf = d.buf[:0]
			j := i + 1
			for {
				if j >= len(rec) {
					return fmt.Errorf("field %d: unterminated quoted field", k+1)
				}
				if rec[j] == '"' {
					if j+1 < len(rec) && rec[j+1] == '"' {
						d.buf = append(d.buf, '"')
						j += 2
						continue
					}
					j++
					break
				}
				d.buf = append(d.buf, rec[j])
				j++
			}
			if j < len(rec) && rec[j] != d.delim {
				return fmt.Errorf("field %d: unexpected character after a quoted field", k+1)
			}
			val, i = d.buf, j
		} else {
			j := i
			for j < len(rec) && rec[j] != d.delim {
				j++
			}
			val, i = rec[i:j], j
		}
		if k >= len(d.fields) {
			return fmt.Errorf("record has more than %d fields", len(d.fields))
		}
		if f := d.fields[k]; f.col >= 0 {
			if err := d.set(f, quoted, val, b, r); err != nil {
				return err
			}
		}
		k++
		if i >= len(rec) {
			break
		}
		i++ // the delimiter
	}
	if k != len(d.fields) {
		return fmt.Errorf("record has %d fields, expected %d", k, len(d.fields))
	}
	return nil
}

func (d *csvDecoder) set(f field, quoted bool, val []byte, b *types.Batch, r int) error {
	v := &b.Cols[f.col]
	isNull := !quoted && ((d.hasNull && string(val) == d.null) ||
		(len(val) == 0 && !v.Type.IsString()))
	if isNull {
		if v.Type.NotNull {
			return &fieldError{f.name, errNullInNotNull}
		}
		v.SetNull(r)
		return nil
	}
	if err := setText(v, r, val, d.a); err != nil {
		return &fieldError{f.name, err}
	}
	return nil
}

// rawDecoder puts the whole value into its single column; a null value
// (tombstone) is NULL.
type rawDecoder struct {
	fields []field
	a      *arena
}

func (d *rawDecoder) fill(rec []byte, b *types.Batch, r int) error {
	f := d.fields[0]
	if f.col < 0 {
		return nil
	}
	v := &b.Cols[f.col]
	if rec == nil {
		if v.Type.NotNull {
			return &fieldError{f.name, errNullInNotNull}
		}
		v.SetNull(r)
		return nil
	}
	v.Str[r] = d.a.str(rec)
	return nil
}

// addSlot appends a zero, non-NULL slot to every vector of b for row
// b.Len(); b.Ops is appended once the row is complete.
func addSlot(b *types.Batch) { recformat.AddSlot(b) }

// dropSlot removes the slot addSlot added, after a malformed record.
func dropSlot(b *types.Batch) { recformat.DropSlot(b) }

// encoder writes row i of a batch as a record value (or key).
type encoder interface {
	encode(dst []byte, b *types.Batch, i int) ([]byte, error)
}

func newEncoder(f format, fields []field) encoder {
	switch f.name {
	case formatCSV:
		return &csvEncoder{fields: fields, delim: f.delim, null: f.nullLiteral}
	case formatRaw:
		return rawEncoder{col: fields[0].col}
	}
	return &jsonEncoder{fields: fields}
}

// jsonEncoder writes {"a":1,"b":"x","c":null} in field order.
type jsonEncoder struct{ fields []field }

func (e *jsonEncoder) encode(dst []byte, b *types.Batch, i int) ([]byte, error) {
	dst = append(dst, '{')
	for k, f := range e.fields {
		if k > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, f.name)
		dst = append(dst, ':')
		dst = appendJSONValue(dst, &b.Cols[f.col], i)
	}
	return append(dst, '}'), nil
}

func appendJSONValue(dst []byte, v *types.Vector, i int) []byte {
	if v.IsNull(i) {
		return append(dst, "null"...)
	}
	t := v.Type
	switch t.Kind {
	case types.KindBool:
		return strconv.AppendBool(dst, v.I64[i] != 0)
	case types.KindTinyInt, types.KindSmallInt, types.KindInt, types.KindBigInt:
		return strconv.AppendInt(dst, v.I64[i], 10)
	case types.KindFloat, types.KindDouble:
		return append(dst, types.FormatFloat(v.F64[i], 64)...)
	case types.KindDecimal:
		return append(dst, types.FormatDecimal(v.I64[i], t.Scale)...)
	case types.KindChar, types.KindVarchar, types.KindString:
		return appendJSONString(dst, v.Str[i])
	case types.KindBytes:
		return appendJSONString(dst, base64.StdEncoding.EncodeToString([]byte(v.Str[i])))
	}
	return appendJSONString(dst, v.Get(i).String())
}

const hexDigits = "0123456789abcdef"

func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\r':
			dst = append(dst, '\\', 'r')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// csvEncoder writes one CSV line (no line break), quoting fields that need it.
type csvEncoder struct {
	fields []field
	delim  byte
	null   string
}

func (e *csvEncoder) encode(dst []byte, b *types.Batch, i int) ([]byte, error) {
	for k, f := range e.fields {
		if k > 0 {
			dst = append(dst, e.delim)
		}
		v := &b.Cols[f.col]
		if v.IsNull(i) {
			dst = append(dst, e.null...)
			continue
		}
		var s string
		switch {
		case v.Type.Kind == types.KindBytes:
			s = base64.StdEncoding.EncodeToString([]byte(v.Str[i]))
		case v.Type.IsString():
			s = v.Str[i]
		default:
			s = v.Get(i).String()
		}
		dst = appendCSVField(dst, s, e.delim, v.Type.IsString() && (s == "" || s == e.null))
	}
	return dst, nil
}

func appendCSVField(dst []byte, s string, delim byte, force bool) []byte {
	need := force
	for i := 0; i < len(s) && !need; i++ {
		c := s[i]
		need = c == delim || c == '"' || c == '\n' || c == '\r'
	}
	if !need {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, s[i])
	}
	return append(dst, '"')
}

// rawEncoder writes its column's bytes; NULL is a null value.
type rawEncoder struct{ col int }

var errRawNull = errors.New("raw format: NULL value")

func (e rawEncoder) encode(dst []byte, b *types.Batch, i int) ([]byte, error) {
	v := &b.Cols[e.col]
	if v.IsNull(i) {
		return nil, errRawNull
	}
	return append(dst, v.Str[i]...), nil
}
