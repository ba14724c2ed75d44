package format

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/sluicesql/sluice/exec/types"
)

// JSONOptions configures a JSONDecoder.
type JSONOptions struct {
	// FailOnMissingField makes a field the record lacks an error
	// (ErrMissingField) instead of NULL.
	FailOnMissingField bool
}

// JSONDecoder parses one JSON object per record straight into batch
// vectors: no intermediate map, no allocation per value.
//
// Field names match Field.Name case-insensitively (an exact match is tried
// first); unknown fields are skipped unchecked beyond JSON syntax; a missing
// field is NULL unless FailOnMissingField. A JSON string goes to any column
// through SetText, a number to a numeric or string column, true/false to a
// BOOLEAN or string column, and a nested object or array to a string column
// as its JSON text. A duplicate field overwrites the earlier value.
type JSONDecoder struct {
	fields []Field
	set    SetText
	// byName maps field names, as declared and lower-cased, to their index
	// in fields.
	byName        map[string]int
	failOnMissing bool
	// hints[n] is the n-th field name of the previous record and its index
	// in fields (-1: not a field): records usually repeat their field
	// order, and a string comparison is cheaper than a map lookup.
	hints []keyHint
	// seen[k] == gen when fields[k] got a value in the current record.
	seen    []uint32
	gen     uint32
	scratch []byte
}

type keyHint struct {
	name string
	k    int
}

// maxHints bounds the field names remembered per record.
const maxHints = 64

// NewJSONDecoder returns a decoder that fills fields, parsing value text
// with set.
func NewJSONDecoder(fields []Field, set SetText, opt JSONOptions) *JSONDecoder {
	d := &JSONDecoder{
		fields: fields, set: set, failOnMissing: opt.FailOnMissingField,
		byName: make(map[string]int, 2*len(fields)),
		seen:   make([]uint32, len(fields)),
	}
	for k, f := range fields {
		d.byName[strings.ToLower(f.Name)] = k
	}
	for k, f := range fields { // exact names win over lower-cased ones
		d.byName[f.Name] = k
	}
	return d
}

// SyntaxError is malformed JSON. Its message does not say "JSON": callers
// name the format along with their position.
type SyntaxError struct {
	Msg string
	// Offset is the byte offset in the record (or value) being scanned.
	Offset int
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("%s at offset %d", e.Msg, e.Offset) }

func syntaxErr(msg string, off int) *SyntaxError { return &SyntaxError{Msg: msg, Offset: off} }

// ValueError is text that is not a value of a column type.
type ValueError struct {
	Type types.Type
	// Text is the value's text, cut to 64 bytes.
	Text string
}

func (e *ValueError) Error() string { return fmt.Sprintf("invalid %s value '%s'", e.Type, e.Text) }

// BadValue returns a *ValueError for text b of type t.
func BadValue(t types.Type, b []byte) error {
	const maxShown = 64
	s := string(b)
	if len(s) > maxShown {
		s = s[:maxShown] + "..."
	}
	return &ValueError{Type: t, Text: s}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// SkipSpace returns the offset of the first non-whitespace byte of b at or
// after i (len(b) when there is none).
func SkipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// Fill implements Decoder. Errors are *SyntaxError or *FieldError.
func (d *JSONDecoder) Fill(rec []byte, b *types.Batch, r int) error {
	d.gen++
	if d.gen == 0 { // wrapped: forget old marks
		clear(d.seen)
		d.gen = 1
	}
	i := SkipSpace(rec, 0)
	if i >= len(rec) || rec[i] != '{' {
		return syntaxErr("expected '{'", i)
	}
	i = SkipSpace(rec, i+1)
	if i < len(rec) && rec[i] == '}' {
		i++
	} else {
		for n := 0; ; n++ {
			if i >= len(rec) || rec[i] != '"' {
				return syntaxErr("expected a field name", i)
			}
			key, esc, end, err := ScanString(rec, i)
			if err != nil {
				return err
			}
			if esc {
				d.scratch = Unescape(d.scratch[:0], key)
				key = d.scratch
			}
			i = SkipSpace(rec, end)
			if i >= len(rec) || rec[i] != ':' {
				return syntaxErr("expected ':' after a field name", i)
			}
			i = SkipSpace(rec, i+1)
			if k := d.lookupAt(n, key); k < 0 {
				i, err = SkipValue(rec, i)
			} else {
				d.seen[k] = d.gen
				if i, err = d.value(rec, i, &b.Cols[d.fields[k].Col], r); err != nil {
					err = fieldErr(d.fields[k].Name, err)
				}
			}
			if err != nil {
				return err
			}
			i = SkipSpace(rec, i)
			if i < len(rec) && rec[i] == ',' {
				i = SkipSpace(rec, i+1)
				continue
			}
			if i < len(rec) && rec[i] == '}' {
				i++
				break
			}
			return syntaxErr("expected ',' or '}'", i)
		}
	}
	if i = SkipSpace(rec, i); i != len(rec) {
		return syntaxErr("unexpected data after the object", i)
	}
	for k, f := range d.fields {
		v := &b.Cols[f.Col]
		if d.seen[k] != d.gen {
			if d.failOnMissing {
				return &FieldError{f.Name, ErrMissingField}
			}
			v.SetNull(r)
		}
		if v.Type.NotNull && v.IsNull(r) {
			return &FieldError{f.Name, ErrNullInNotNull}
		}
	}
	return nil
}

// fieldErr wraps an error of value in a *FieldError unless it is a syntax
// error. It is apart so that the error path's heap variable is not
// allocated per value.
func fieldErr(name string, err error) error {
	var se *SyntaxError
	if errors.As(err, &se) {
		return err
	}
	return &FieldError{name, err}
}

// lookupAt returns the index in fields of the n-th field of a record, named
// key, or -1.
func (d *JSONDecoder) lookupAt(n int, key []byte) int {
	if n < len(d.hints) && d.hints[n].name == string(key) {
		return d.hints[n].k
	}
	k, ok := d.byName[string(key)] // no allocation for the lookup
	if !ok {
		k = -1
		for j, f := range d.fields {
			if strings.EqualFold(f.Name, string(key)) {
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

func isText(k types.Kind) bool {
	return k == types.KindChar || k == types.KindVarchar || k == types.KindString
}

// value parses the JSON value at rec[i:] into row r of v and returns the
// offset after it.
func (d *JSONDecoder) value(rec []byte, i int, v *types.Vector, r int) (int, error) {
	if i >= len(rec) {
		return i, syntaxErr("expected a value", i)
	}
	if v.Nulls != nil {
		v.Nulls[r] = false // a duplicate field may follow a null
	}
	kind := v.Type.Kind
	switch c := rec[i]; {
	case c == '"':
		s, esc, end, err := ScanString(rec, i)
		if err != nil {
			return i, err
		}
		if esc {
			d.scratch = Unescape(d.scratch[:0], s)
			s = d.scratch
		}
		if err := d.set(v, r, s); err != nil {
			return i, err
		}
		return end, nil
	case c == 'n':
		if !HasLiteral(rec, i, "null") {
			return i, syntaxErr("invalid literal", i)
		}
		v.SetNull(r)
		return i + 4, nil
	case c == 't' || c == 'f':
		lit := "false"
		if c == 't' {
			lit = "true"
		}
		if !HasLiteral(rec, i, lit) {
			return i, syntaxErr("invalid literal", i)
		}
		switch {
		case kind == types.KindBool:
			v.I64[r] = 0
			if c == 't' {
				v.I64[r] = 1
			}
		case isText(kind):
			v.Str[r] = lit
		default:
			return i, BadValue(v.Type, []byte(lit))
		}
		return i + len(lit), nil
	case c == '-' || (c >= '0' && c <= '9'):
		end := scanNumber(rec, i)
		if end < 0 {
			return i, syntaxErr("invalid number", i)
		}
		tok := rec[i:end]
		if !v.Type.IsNumeric() && !isText(kind) {
			return i, BadValue(v.Type, tok)
		}
		if err := d.set(v, r, tok); err != nil {
			return i, err
		}
		return end, nil
	case c == '{' || c == '[':
		end, err := SkipValue(rec, i)
		if err != nil {
			return i, err
		}
		if !isText(kind) {
			return i, BadValue(v.Type, rec[i:end])
		}
		if err := d.set(v, r, rec[i:end]); err != nil { // nested JSON kept as text
			return i, err
		}
		return end, nil
	}
	return i, syntaxErr("unexpected character "+QuoteByte(rec[i]), i)
}

// QuoteByte shows the byte c in an error message: 'x' when printable, else
// its hex code.
func QuoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return "'" + string(rune(c)) + "'"
	}
	return fmt.Sprintf("0x%02x", c)
}

// HasLiteral reports whether b[i:] starts with lit.
func HasLiteral(b []byte, i int, lit string) bool {
	return len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit
}

// ScanString scans the JSON string whose opening quote is b[i]. It returns
// its raw content (a subslice of b, escapes not decoded), whether that
// contains escapes, and the offset after the closing quote. Errors are
// *SyntaxError.
func ScanString(b []byte, i int) (s []byte, esc bool, end int, err error) {
	start := i + 1
	for j := start; j < len(b); j++ {
		for j < len(b) && !stringStop[b[j]] {
			j++
		}
		if j == len(b) {
			break
		}
		switch c := b[j]; {
		case c == '"':
			return b[start:j], esc, j + 1, nil
		case c == '\\':
			esc = true
			j++
		case c < 0x20:
			return nil, false, 0, syntaxErr("control character in a string", j)
		}
	}
	return nil, false, 0, syntaxErr("unterminated string", i)
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

// Unescape appends the decoded form of s, raw string content from
// ScanString, to dst. Invalid escapes decode leniently (the escaped
// character itself; a lone \u without 4 hex digits is 'u').
func Unescape(dst, s []byte) []byte {
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
			r, n := decodeU(s[i+1:])
			if n == 0 {
				dst = append(dst, 'u')
				continue
			}
			i += n
			if utf16.IsSurrogate(r) && len(s) > i+2 && s[i+1] == '\\' && s[i+2] == 'u' {
				if r2, n2 := decodeU(s[i+3:]); n2 > 0 {
					if pr := utf16.DecodeRune(r, r2); pr != utf8.RuneError {
						r = pr
						i += 2 + n2
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
func decodeU(s []byte) (r rune, n int) {
	if len(s) < 4 {
		return 0, 0
	}
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

// scanNumber returns the end of the JSON number at b[i], or -1.
func scanNumber(b []byte, i int) int {
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	if j = skipDigits(b, j); j < 0 {
		return -1
	}
	if j < len(b) && b[j] == '.' {
		if j = skipDigits(b, j+1); j < 0 {
			return -1
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		j = skipDigits(b, j)
	}
	return j
}

// skipDigits returns the offset after the digits at b[i], or -1 when there
// are none.
func skipDigits(b []byte, i int) int {
	j := i
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// maxDepth bounds the nesting of skipped values.
const maxDepth = 1000

// SkipValue returns the offset after the JSON value at b[i], checking its
// syntax. Errors are *SyntaxError.
func SkipValue(b []byte, i int) (int, error) { return skipValue(b, i, 0) }

func skipValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return i, syntaxErr("expected a value", i)
	}
	if depth > maxDepth {
		return i, syntaxErr("nested too deeply", i)
	}
	switch c := b[i]; {
	case c == '"':
		_, _, end, err := ScanString(b, i)
		return end, err
	case c == 'n' || c == 't' || c == 'f':
		for _, lit := range [...]string{"null", "true", "false"} {
			if HasLiteral(b, i, lit) {
				return i + len(lit), nil
			}
		}
		return i, syntaxErr("invalid literal", i)
	case c == '-' || (c >= '0' && c <= '9'):
		if end := scanNumber(b, i); end >= 0 {
			return end, nil
		}
		return i, syntaxErr("invalid number", i)
	case c == '{' || c == '[':
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		i = SkipSpace(b, i+1)
		if i < len(b) && b[i] == closing {
			return i + 1, nil
		}
		for {
			var err error
			if c == '{' {
				if i >= len(b) || b[i] != '"' {
					return i, syntaxErr("expected a field name", i)
				}
				if _, _, i, err = ScanString(b, i); err != nil {
					return i, err
				}
				if i = SkipSpace(b, i); i >= len(b) || b[i] != ':' {
					return i, syntaxErr("expected ':' after a field name", i)
				}
				i = SkipSpace(b, i+1)
			}
			if i, err = skipValue(b, i, depth+1); err != nil {
				return i, err
			}
			i = SkipSpace(b, i)
			if i < len(b) && b[i] == ',' {
				i = SkipSpace(b, i+1)
				continue
			}
			if i < len(b) && b[i] == closing {
				return i + 1, nil
			}
			return i, syntaxErr("expected ',' or '"+string(closing)+"'", i)
		}
	}
	return i, syntaxErr("unexpected character "+QuoteByte(b[i]), i)
}
