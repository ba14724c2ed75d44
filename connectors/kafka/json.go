package kafka

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/sluicesql/sluice/exec/types"
)

// field is a column a value decoder fills: its name in the record and the
// batch column it goes to.
type field struct {
	name string
	col  int // index in the batch
}

// valueDecoder parses one record value into row r of a batch, whose slots
// the caller has added (addSlot). It fills only its fields' columns.
type valueDecoder interface {
	fill(rec []byte, b *types.Batch, r int) error
}

// jsonDecoder parses a JSON object straight into batch vectors, without an
// intermediate map or a per-value allocation. Field names match column
// names case-insensitively (an exact match first); unknown fields are
// skipped; a missing field is NULL unless failOnMissing.
type jsonDecoder struct {
	fields        []field
	byName        map[string]int // name (as declared and lower-cased) → index in fields
	failOnMissing bool
	hints         []keyHint // field names of the previous record, in order
	seen          []uint32  // seen[k] == gen: fields[k] got a value in this record
	gen           uint32
	a             *arena
	scratch       []byte
}

type keyHint struct {
	name string
	k    int
}

const maxHints = 64

func newJSONDecoder(fields []field, failOnMissing bool, a *arena) *jsonDecoder {
	d := &jsonDecoder{fields: fields, failOnMissing: failOnMissing, a: a,
		byName: make(map[string]int, 2*len(fields)), seen: make([]uint32, len(fields))}
	for k, f := range fields {
		d.byName[strings.ToLower(f.name)] = k
	}
	for k, f := range fields {
		d.byName[f.name] = k
	}
	return d
}

// syntaxError is malformed JSON.
type syntaxError struct {
	msg string
	off int
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("invalid JSON: %s at offset %d", e.msg, e.off)
}

// fieldError is a value that does not fit its column.
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return fmt.Sprintf("field '%s': %v", e.field, e.err) }
func (e *fieldError) Unwrap() error { return e.err }

var errMissingField = errors.New("missing field")

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

func (d *jsonDecoder) fill(rec []byte, b *types.Batch, r int) error {
	d.gen++
	if d.gen == 0 {
		clear(d.seen)
		d.gen = 1
	}
	i := skipSpace(rec, 0)
	if i >= len(rec) || rec[i] != '{' {
		return &syntaxError{"expected '{'", i}
	}
	i = skipSpace(rec, i+1)
	if i < len(rec) && rec[i] == '}' {
		i++
	} else {
		for n := 0; ; n++ {
			if i >= len(rec) || rec[i] != '"' {
				return &syntaxError{"expected a field name", i}
			}
			key, esc, end, err := scanString(rec, i)
			if err != nil {
				return err
			}
			if esc {
				d.scratch = unescape(d.scratch[:0], key)
				key = d.scratch
			}
			i = skipSpace(rec, end)
			if i >= len(rec) || rec[i] != ':' {
				return &syntaxError{"expected ':'", i}
			}
			i = skipSpace(rec, i+1)
			if k := d.lookupAt(n, key); k < 0 {
				i, err = skipValue(rec, i, 0)
			} else {
				d.seen[k] = d.gen
				i, err = d.value(rec, i, &b.Cols[d.fields[k].col], r)
				var se *syntaxError
				if err != nil && !errors.As(err, &se) {
					err = &fieldError{d.fields[k].name, err}
				}
			}
			if err != nil {
				return err
			}
			i = skipSpace(rec, i)
			if i < len(rec) && rec[i] == ',' {
				i = skipSpace(rec, i+1)
				continue
			}
			if i < len(rec) && rec[i] == '}' {
				i++
				break
			}
			return &syntaxError{"expected ',' or '}'", i}
		}
	}
	if i = skipSpace(rec, i); i != len(rec) {
		return &syntaxError{"unexpected data after the object", i}
	}
	for k, f := range d.fields {
		v := &b.Cols[f.col]
		if d.seen[k] != d.gen {
			if d.failOnMissing {
				return &fieldError{f.name, errMissingField}
			}
			v.SetNull(r)
		}
		if v.Type.NotNull && v.IsNull(r) {
			return &fieldError{f.name, errNullInNotNull}
		}
	}
	return nil
}

// lookupAt returns the index in fields of the n-th field of a record, named
// key, or -1. Records usually repeat their field order, so the previous
// record's n-th name is tried first.
func (d *jsonDecoder) lookupAt(n int, key []byte) int {
	if n < len(d.hints) && d.hints[n].name == string(key) {
		return d.hints[n].k
	}
	k, ok := d.byName[string(key)]
	if !ok {
		k = -1
		for j, f := range d.fields {
			if strings.EqualFold(f.name, string(key)) {
				k = j
				break
			}
		}
	}
	switch {
	case n < len(d.hints):
		d.hints[n] = keyHint{string(key), k}
	case n == len(d.hints) && n < maxHints:
		d.hints = append(d.hints, keyHint{string(key), k})
	}
	return k
}

// value parses the JSON value at rec[i:] into row r of v.
func (d *jsonDecoder) value(rec []byte, i int, v *types.Vector, r int) (int, error) {
	if v.Nulls != nil {
		v.Nulls[r] = false // a duplicate field may follow a null
	}
	kind := v.Type.Kind
	isText := kind == types.KindChar || kind == types.KindVarchar || kind == types.KindString
	switch c := rec[i]; {
	case c == '"':
		s, esc, end, err := scanString(rec, i)
		if err != nil {
			return i, err
		}
		if esc {
			d.scratch = unescape(d.scratch[:0], s)
			s = d.scratch
		}
		if isText {
			v.Str[r] = d.a.str(s)
		} else if err := setText(v, r, s, d.a); err != nil {
			return i, err
		}
		return end, nil
	case c == 'n':
		if !hasLiteral(rec, i, "null") {
			return i, &syntaxError{"invalid literal", i}
		}
		v.SetNull(r)
		return i + 4, nil
	case c == 't' || c == 'f':
		lit := "false"
		if c == 't' {
			lit = "true"
		}
		if !hasLiteral(rec, i, lit) {
			return i, &syntaxError{"invalid literal", i}
		}
		switch {
		case kind == types.KindBool:
			v.I64[r] = 0
			if c == 't' {
				v.I64[r] = 1
			}
		case isText:
			v.Str[r] = lit
		default:
			return i, badValue(v.Type, []byte(lit))
		}
		return i + len(lit), nil
	case c == '-' || (c >= '0' && c <= '9'):
		end := scanNumber(rec, i)
		if end < 0 {
			return i, &syntaxError{"invalid number", i}
		}
		if !v.Type.IsNumeric() && !isText {
			return i, badValue(v.Type, rec[i:end])
		}
		return end, setText(v, r, rec[i:end], d.a)
	case c == '{' || c == '[':
		end, err := skipValue(rec, i, 0)
		if err != nil {
			return i, err
		}
		if !isText {
			return i, badValue(v.Type, rec[i:end])
		}
		v.Str[r] = d.a.str(rec[i:end]) // nested JSON kept as text
		return end, nil
	}
	return i, &syntaxError{fmt.Sprintf("unexpected character %q", rec[i]), i}
}

func hasLiteral(b []byte, i int, lit string) bool {
	return len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit
}

// scanString scans the string whose opening quote is at b[i]: its raw
// content, whether it has escapes, and the offset after the closing quote.
func scanString(b []byte, i int) (s []byte, esc bool, end int, err error) {
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], esc, j + 1, nil
		case c == '\\':
			esc = true
			j++
		case c < 0x20:
			return nil, false, 0, &syntaxError{"control character in a string", j}
		}
	}
	return nil, false, 0, &syntaxError{"unterminated string", i}
}

// unescape appends the decoded raw string content s to dst.
func unescape(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			dst = append(dst, c)
			continue
		}
		i++
		switch s[i] {
		case 'n':
			dst = append(dst, '\n')
		case 't':
			dst = append(dst, '\t')
		case 'r':
			dst = append(dst, '\r')
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'u':
			r, ok := hex4(s[i+1:])
			if !ok {
				dst = append(dst, 'u')
				continue
			}
			i += 4
			if utf16.IsSurrogate(r) && len(s) >= i+7 && s[i+1] == '\\' && s[i+2] == 'u' {
				if r2, ok := hex4(s[i+3:]); ok {
					if p := utf16.DecodeRune(r, r2); p != utf8.RuneError {
						r = p
						i += 6
					}
				}
			}
			dst = utf8.AppendRune(dst, r)
		default:
			dst = append(dst, s[i])
		}
	}
	return dst
}

func hex4(s []byte) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// scanNumber returns the end of the JSON number at b[i], or -1.
func scanNumber(b []byte, i int) int {
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	if j = digits(b, j); j < 0 {
		return -1
	}
	if j < len(b) && b[j] == '.' {
		if j = digits(b, j+1); j < 0 {
			return -1
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		j = digits(b, j)
	}
	return j
}

func digits(b []byte, i int) int {
	j := i
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// skipValue returns the offset after the JSON value at b[i].
func skipValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return i, &syntaxError{"expected a value", i}
	}
	if depth > 1000 {
		return i, &syntaxError{"nested too deeply", i}
	}
	switch c := b[i]; {
	case c == '"':
		_, _, end, err := scanString(b, i)
		return end, err
	case c == 'n' || c == 't' || c == 'f':
		for _, lit := range [...]string{"null", "true", "false"} {
			if hasLiteral(b, i, lit) {
				return i + len(lit), nil
			}
		}
		return i, &syntaxError{"invalid literal", i}
	case c == '-' || (c >= '0' && c <= '9'):
		if end := scanNumber(b, i); end >= 0 {
			return end, nil
		}
		return i, &syntaxError{"invalid number", i}
	case c == '{' || c == '[':
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == closing {
			return i + 1, nil
		}
		for {
			var err error
			if c == '{' {
				if i >= len(b) || b[i] != '"' {
					return i, &syntaxError{"expected a field name", i}
				}
				if _, _, i, err = scanString(b, i); err != nil {
					return i, err
				}
				if i = skipSpace(b, i); i >= len(b) || b[i] != ':' {
					return i, &syntaxError{"expected ':'", i}
				}
				i = skipSpace(b, i+1)
			}
			if i, err = skipValue(b, i, depth+1); err != nil {
				return i, err
			}
			i = skipSpace(b, i)
			if i < len(b) && b[i] == ',' {
				i = skipSpace(b, i+1)
				continue
			}
			if i < len(b) && b[i] == closing {
				return i + 1, nil
			}
			return i, &syntaxError{"expected ',' or '" + string(closing) + "'", i}
		}
	}
	return i, &syntaxError{fmt.Sprintf("unexpected character %q", b[i]), i}
}
