package format

import (
	"errors"
	"fmt"

	"github.com/sluicesql/sluice/exec/types"
)

// Field maps a record field to a batch column.
type Field struct {
	// Name is the field's name in the record (a column name).
	Name string
	// Col is the index of the column in the batch.
	Col int
}

// SetText parses text, the text of a non-NULL value, into row r of v. For a
// string column it stores a copy of text (text is only valid during the
// call). Its error says why text is not a value of v's type; the decoder
// wraps it in a *FieldError.
type SetText func(v *types.Vector, r int, text []byte) error

// Decoder parses one record into a batch row.
type Decoder interface {
	// Fill stores the record's values into row r of the vectors its fields
	// name; the slots exist already (AddSlot). On an error the row is
	// partly written and the caller drops it (DropSlot).
	Fill(rec []byte, b *types.Batch, r int) error
}

// FieldError is a well-formed value that does not fit its column, or a
// field the record lacks.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return fmt.Sprintf("field '%s': %v", e.Field, e.Err) }
func (e *FieldError) Unwrap() error { return e.Err }

var (
	// ErrNullInNotNull is a NULL (or missing) value for a NOT NULL column.
	ErrNullInNotNull = errors.New("NULL in a NOT NULL column")
	// ErrMissingField is a field the record lacks, when missing fields are
	// errors.
	ErrMissingField = errors.New("missing field")
)

// Append appends the record rec to b as an insert, or leaves b unchanged
// and returns why the record is malformed.
func Append(d Decoder, rec []byte, b *types.Batch) error {
	r := b.Len()
	AddSlot(b)
	if err := d.Fill(rec, b, r); err != nil {
		DropSlot(b)
		return err
	}
	b.Ops = append(b.Ops, types.Insert)
	return nil
}

// AddSlot appends a zero, non-NULL slot to every vector of b, for row
// b.Len() that a decoder is about to fill; b.Ops is appended once the row
// is complete. It is a lighter Vector.Resize(n+1) for the per-record path.
func AddSlot(b *types.Batch) {
	for j := range b.Cols {
		v := &b.Cols[j]
		switch v.Type.Class() {
		case types.ClassF64:
			v.F64 = append(v.F64, 0)
		case types.ClassStr:
			v.Str = append(v.Str, "")
		default:
			v.I64 = append(v.I64, 0)
		}
		if v.Nulls != nil {
			v.Nulls = append(v.Nulls, false)
		}
	}
}

// DropSlot removes the slot AddSlot added, after a malformed record. Its
// string is cleared so that the batch does not keep it alive.
func DropSlot(b *types.Batch) {
	n := b.Len()
	for j := range b.Cols {
		v := &b.Cols[j]
		switch v.Type.Class() {
		case types.ClassF64:
			v.F64 = v.F64[:n]
		case types.ClassStr:
			v.Str[n] = ""
			v.Str = v.Str[:n]
		default:
			v.I64 = v.I64[:n]
		}
		if len(v.Nulls) > n {
			v.Nulls = v.Nulls[:n]
		}
	}
}
