package filesystem

import (
	"fmt"

	"github.com/sluicesql/sluice/exec/types"
)

// csvDecoder parses RFC 4180 records into batch vectors. Fields map to
// table columns by position; a record must have exactly one field per table
// column. A quoted field may hold delimiters, doubled quotes and line breaks
// (the source frames records so that line breaks inside quotes stay in one
// record).
//
// NULL: an unquoted field equal to nullLiteral (when set) is NULL; an empty
// unquoted field is NULL for non-string columns (it could be nothing else)
// and the empty string for string columns.
type csvDecoder struct {
	schema  types.Schema
	outOf   []int // outOf[tableCol] is the output column, or -1
	delim   byte
	quote   byte // 0: quoting disabled
	null    []byte
	hasNull bool

	a       *arena
	scratch []byte
}

func newCSVDecoder(schema types.Schema, cols []int, opt csvOptions, a *arena) *csvDecoder {
	d := &csvDecoder{
		schema: schema, outOf: make([]int, len(schema)),
		delim: opt.delim, quote: opt.quote, null: []byte(opt.nullLiteral), hasNull: opt.hasNull, a: a,
	}
	for i := range d.outOf {
		d.outOf[i] = -1
	}
	for j, c := range cols {
		d.outOf[c] = j
	}
	return d
}

// csvSyntaxError is a record that is not valid CSV for the table.
type csvSyntaxError struct{ msg string }

func (e *csvSyntaxError) Error() string { return e.msg }

// fill implements recordDecoder; rec has no final line break.
func (d *csvDecoder) fill(rec []byte, b *types.Batch, r int) error {
	n := len(d.schema)
	for i, field := 0, 0; ; field++ {
		if field >= n {
			return &csvSyntaxError{fmt.Sprintf("more than %d fields", n)}
		}
		var text []byte
		quoted := d.quote != 0 && i < len(rec) && rec[i] == d.quote
		if quoted {
			var err error
			if text, i, err = d.quotedField(rec, i); err != nil {
				return err
			}
		} else {
			j := i
			for j < len(rec) && rec[j] != d.delim {
				j++
			}
			text, i = rec[i:j], j
		}
		if j := d.outOf[field]; j >= 0 {
			if err := d.set(&b.Cols[j], r, text, quoted); err != nil {
				return &fieldError{d.schema[field].Name, err}
			}
		}
		if i >= len(rec) {
			if field+1 != n {
				return &csvSyntaxError{fmt.Sprintf("%d fields, expected %d", field+1, n)}
			}
			return nil
		}
		i++ // the delimiter; a trailing one is followed by an empty field
	}
}

// quotedField parses the quoted field at rec[i] and returns its content and
// the offset after the closing quote.
func (d *csvDecoder) quotedField(rec []byte, i int) ([]byte, int, error) {
	q := d.quote
	start := i + 1
	doubled := false
	j := start
	for {
		for j < len(rec) && rec[j] != q {
			j++
		}
		if j >= len(rec) {
			return nil, 0, &csvSyntaxError{"unterminated quoted field"}
		}
		if j+1 < len(rec) && rec[j+1] == q { // "" inside quotes
			doubled = true
			j += 2
			continue
		}
		break
	}
	text, end := rec[start:j], j+1
	if end < len(rec) && rec[end] != d.delim {
		return nil, 0, &csvSyntaxError{"unexpected " + quoteByte(rec[end]) + " after a closing quote"}
	}
	if doubled {
		d.scratch = d.scratch[:0]
		for k := 0; k < len(text); k++ {
			d.scratch = append(d.scratch, text[k])
			if text[k] == q {
				k++ // skip the second quote of a pair
			}
		}
		text = d.scratch
	}
	return text, end, nil
}

// set stores one field into row r of v.
func (d *csvDecoder) set(v *types.Vector, r int, text []byte, quoted bool) error {
	if !quoted && ((d.hasNull && string(text) == string(d.null)) || (len(text) == 0 && !isStringKind(v.Type.Kind))) {
		if v.Type.NotNull {
			return errNullInNotNull
		}
		v.SetNull(r)
		return nil
	}
	return setText(v, r, text, d.a)
}

func isStringKind(k types.Kind) bool {
	return k == types.KindChar || k == types.KindVarchar || k == types.KindString || k == types.KindBytes
}
