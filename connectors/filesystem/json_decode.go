package filesystem

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/sluicesql/sluice/exec/types"
)

// jsonDecoder parses JSON lines (one object per line) straight into batch
// vectors: no intermediate map, no per-value allocation (strings are carved
// from an arena).
//
// Field names match column names case-insensitively (an exact match is
// tried first); unknown fields are skipped, missing ones are NULL unless
// failOnMissing. Values of columns not requested are skipped unchecked.
type jsonDecoder struct {
	schema types.Schema
	// byName maps column names, as declared and lower-cased, to the output
	// column index (-1 when the column is not requested).
	byName map[string]int
	// outCols[j] is the table column of output column j.
	outCols []int
	// hints[k] is the k-th field name of the previous record and its
	// output column: records usually repeat their field order, and a string
	// comparison is cheaper than a map lookup.
	hints         []keyHint
	failOnMissing bool

	// seen[j] == gen when output column j got a value in the current record.
	seen    []uint32
	gen     uint32
	a       *arena
	scratch []byte
}

func newJSONDecoder(schema types.Schema, cols []int, failOnMissing bool, a *arena) *jsonDecoder {
	d := &jsonDecoder{
		schema: schema, outCols: cols, failOnMissing: failOnMissing,
		byName: make(map[string]int, 2*len(schema)),
		seen:   make([]uint32, len(cols)), a: a,
	}
	for _, c := range schema {
		d.byName[strings.ToLower(c.Name)] = -1
		d.byName[c.Name] = -1
	}
	for j, c := range cols {
		d.byName[strings.ToLower(schema[c].Name)] = j
		d.byName[schema[c].Name] = j
	}
	return d
}

type keyHint struct {
	name string
	col  int
}

// maxHints bounds the fields remembered per record.
const maxHints = 64

// syntaxError is malformed JSON; decode's caller reports it as "invalid JSON".
type syntaxError struct {
	msg string
	off int
}

func (e *syntaxError) Error() string { return fmt.Sprintf("%s at offset %d", e.msg, e.off) }

// fieldError is a well-formed value that does not fit its column.
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return fmt.Sprintf("field '%s': %v", e.field, e.err) }
func (e *fieldError) Unwrap() error { return e.err }

var (
	errNullInNotNull = errors.New("NULL in a NOT NULL column")
	errMissingField  = errors.New("missing field")
)

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// fill implements recordDecoder. Errors are *syntaxError or *fieldError.
func (d *jsonDecoder) fill(line []byte, b *types.Batch, r int) error {
	d.gen++
	if d.gen == 0 { // wrapped: forget old marks
		clear(d.seen)
		d.gen = 1
	}
	i := skipSpace(line, 0)
	if i >= len(line) || line[i] != '{' {
		return &syntaxError{"expected '{'", i}
	}
	i = skipSpace(line, i+1)
	if i < len(line) && line[i] == '}' {
		i++
	} else {
		for field := 0; ; {
			if i >= len(line) || line[i] != '"' {
				return &syntaxError{"expected a field name", i}
			}
			key, esc, end, err := scanString(line, i)
			if err != nil {
				return err
			}
			if esc {
				d.scratch = unescape(d.scratch[:0], key)
				key = d.scratch
			}
			i = skipSpace(line, end)
			if i >= len(line) || line[i] != ':' {
				return &syntaxError{"expected ':' after a field name", i}
			}
			i = skipSpace(line, i+1)
			j := d.lookupAt(field, key)
			field++
			if j < 0 {
				i, err = skipValue(line, i, 0)
			} else {
				d.seen[j] = d.gen
				i, err = d.value(line, i, &b.Cols[j], r)
				if err != nil {
					var se *syntaxError
					if !errors.As(err, &se) {
						err = &fieldError{d.schema[d.outCols[j]].Name, err}
					}
				}
			}
			if err != nil {
				return err
			}
			i = skipSpace(line, i)
			if i < len(line) && line[i] == ',' {
				i = skipSpace(line, i+1)
				continue
			}
			if i < len(line) && line[i] == '}' {
				i++
				break
			}
			return &syntaxError{"expected ',' or '}'", i}
		}
	}
	if i = skipSpace(line, i); i != len(line) {
		return &syntaxError{"unexpected data after the object", i}
	}
	for j := range b.Cols {
		v := &b.Cols[j]
		if d.seen[j] != d.gen {
			if d.failOnMissing {
				return &fieldError{d.schema[d.outCols[j]].Name, errMissingField}
			}
			v.SetNull(r)
		}
		if v.Type.NotNull && v.IsNull(r) {
			return &fieldError{d.schema[d.outCols[j]].Name, errNullInNotNull}
		}
	}
	return nil
}

// lookupAt returns the output column of the field named key, the k-th of
// its record, or -1.
func (d *jsonDecoder) lookupAt(k int, key []byte) int {
	if k < len(d.hints) && d.hints[k].name == string(key) {
		return d.hints[k].col
	}
	j := d.lookup(key)
	switch {
	case k < len(d.hints):
		d.hints[k] = keyHint{string(key), j}
	case k == len(d.hints) && k < maxHints:
		d.hints = append(d.hints, keyHint{string(key), j})
	}
	return j
}

// lookup returns the output column of a field name, or -1.
func (d *jsonDecoder) lookup(key []byte) int {
	if j, ok := d.byName[string(key)]; ok { // no allocation for the lookup
		return j
	}
	for c, col := range d.schema {
		if strings.EqualFold(col.Name, string(key)) {
			return d.byName[d.schema[c].Name]
		}
	}
	return -1
}

// value parses the JSON value at line[i:] into row r of v and returns the
// offset after it.
func (d *jsonDecoder) value(line []byte, i int, v *types.Vector, r int) (int, error) {
	if i >= len(line) {
		return i, &syntaxError{"expected a value", i}
	}
	if v.Nulls != nil {
		v.Nulls[r] = false // a duplicate field may follow a null
	}
	kind := v.Type.Kind
	isText := kind == types.KindChar || kind == types.KindVarchar || kind == types.KindString
	switch c := line[i]; {
	case c == '"':
		s, esc, end, err := scanString(line, i)
		if err != nil {
			return i, err
		}
		switch {
		case isText && !esc:
			v.Str[r] = d.a.str(s)
		case isText:
			d.a.reserve(len(s))
			off := len(d.a.buf)
			d.a.buf = unescape(d.a.buf, s)
			v.Str[r] = d.a.view(off)
		default:
			if esc {
				d.scratch = unescape(d.scratch[:0], s)
				s = d.scratch
			}
			if err := setText(v, r, s, d.a); err != nil {
				return i, err
			}
		}
		return end, nil
	case c == 'n':
		if !hasLiteral(line, i, "null") {
			return i, &syntaxError{"invalid literal", i}
		}
		v.SetNull(r)
		return i + 4, nil
	case c == 't' || c == 'f':
		lit := "false"
		if c == 't' {
			lit = "true"
		}
		if !hasLiteral(line, i, lit) {
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
		end := scanNumber(line, i)
		if end < 0 {
			return i, &syntaxError{"invalid number", i}
		}
		tok := line[i:end]
		if v.Type.IsNumeric() || isText {
			if err := setText(v, r, tok, d.a); err != nil {
				return i, err
			}
			return end, nil
		}
		return i, badValue(v.Type, tok)
	case c == '{' || c == '[':
		end, err := skipValue(line, i, 0)
		if err != nil {
			return i, err
		}
		if !isText {
			return i, badValue(v.Type, line[i:end])
		}
		v.Str[r] = d.a.str(line[i:end]) // nested JSON kept as text
		return end, nil
	}
	return i, &syntaxError{"unexpected character " + quoteByte(line[i]), i}
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return "'" + string(rune(c)) + "'"
	}
	return fmt.Sprintf("0x%02x", c)
}

func hasLiteral(line []byte, i int, lit string) bool {
	return len(line)-i >= len(lit) && string(line[i:i+len(lit)]) == lit
}

// scanString scans the string starting at the quote line[i]. It returns its
// raw content (escapes not decoded), whether it contains escapes, and the
// offset after the closing quote.
func scanString(line []byte, i int) (s []byte, esc bool, end int, err error) {
	start := i + 1
	for j := start; j < len(line); j++ {
		for j < len(line) && !stringStop[line[j]] {
			j++
		}
		if j == len(line) {
			break
		}
		switch c := line[j]; {
		case c == '"':
			return line[start:j], esc, j + 1, nil
		case c == '\\':
			esc = true
			j++
		case c < 0x20:
			return nil, false, 0, &syntaxError{"control character in a string", j}
		}
	}
	return nil, false, 0, &syntaxError{"unterminated string", i}
}

// stringStop marks the bytes that end the fast scan of a string: the quote,
// the backslash and control characters.
var stringStop = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// unescape appends the decoded form of the raw string content s to dst. s
// comes from scanString, so every backslash is followed by a character.
// Invalid escapes decode leniently (the escaped character itself).
func unescape(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
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
			r, n := decodeU(s[i+1:])
			if n == 0 {
				dst = append(dst, 'u')
				continue
			}
			i += n
			if utf16.IsSurrogate(r) {
				if len(s) > i+2 && s[i+1] == '\\' && s[i+2] == 'u' {
					if r2, n2 := decodeU(s[i+3:]); n2 > 0 {
						if pr := utf16.DecodeRune(r, r2); pr != utf8.RuneError {
							r = pr
							i += 2 + n2
						}
					}
				}
			}
			dst = utf8.AppendRune(dst, r)
		default: // '"', '\\', '/' and lenient others
			dst = append(dst, s[i])
		}
	}
	return dst
}

// decodeU decodes 4 hex digits; n is 4, or 0 when they are not hex digits.
func decodeU(s []byte) (rune, int) {
	if len(s) < 4 {
		return 0, 0
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
			return 0, 0
		}
		r = r<<4 | rune(c)
	}
	return r, 4
}

// scanNumber returns the end of the JSON number at line[i], or -1.
func scanNumber(line []byte, i int) int {
	j := i
	if j < len(line) && line[j] == '-' {
		j++
	}
	if j = skipDigits(line, j); j < 0 {
		return -1
	}
	if j < len(line) && line[j] == '.' {
		if j = skipDigits(line, j+1); j < 0 {
			return -1
		}
	}
	if j < len(line) && (line[j] == 'e' || line[j] == 'E') {
		j++
		if j < len(line) && (line[j] == '+' || line[j] == '-') {
			j++
		}
		j = skipDigits(line, j)
	}
	return j
}

// skipDigits returns the offset after the digits at line[i], or -1 when
// there are none.
func skipDigits(line []byte, i int) int {
	j := i
	for j < len(line) && line[j] >= '0' && line[j] <= '9' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// maxDepth bounds the nesting of skipped values.
const maxDepth = 1000

// skipValue returns the offset after the JSON value at line[i].
func skipValue(line []byte, i, depth int) (int, error) {
	if i >= len(line) {
		return i, &syntaxError{"expected a value", i}
	}
	if depth > maxDepth {
		return i, &syntaxError{"nested too deeply", i}
	}
	switch c := line[i]; {
	case c == '"':
		_, _, end, err := scanString(line, i)
		return end, err
	case c == 'n' || c == 't' || c == 'f':
		for _, lit := range []string{"null", "true", "false"} {
			if hasLiteral(line, i, lit) {
				return i + len(lit), nil
			}
		}
		return i, &syntaxError{"invalid literal", i}
	case c == '-' || (c >= '0' && c <= '9'):
		if end := scanNumber(line, i); end >= 0 {
			return end, nil
		}
		return i, &syntaxError{"invalid number", i}
	case c == '{' || c == '[':
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		i = skipSpace(line, i+1)
		if i < len(line) && line[i] == closing {
			return i + 1, nil
		}
		for {
			var err error
			if c == '{' {
				if i >= len(line) || line[i] != '"' {
					return i, &syntaxError{"expected a field name", i}
				}
				if _, _, i, err = scanString(line, i); err != nil {
					return i, err
				}
				if i = skipSpace(line, i); i >= len(line) || line[i] != ':' {
					return i, &syntaxError{"expected ':' after a field name", i}
				}
				i = skipSpace(line, i+1)
			}
			if i, err = skipValue(line, i, depth+1); err != nil {
				return i, err
			}
			i = skipSpace(line, i)
			if i < len(line) && line[i] == ',' {
				i = skipSpace(line, i+1)
				continue
			}
			if i < len(line) && line[i] == closing {
				return i + 1, nil
			}
			return i, &syntaxError{"expected ',' or '" + string(closing) + "'", i}
		}
	}
	return i, &syntaxError{"unexpected character " + quoteByte(line[i]), i}
}
